"""The page's first load, in bytes: web/ as written against web/ as served (publisher/served.py).

    .venv/bin/python -m bench.page_weight

The first load is index.html, what it names and the modules it imports statically
(tests/deploy/page_graph.py); tests/deploy/test_served_page.py holds it to 24 KB gzipped. Two figures
per column: every file gzipped (what a server that compresses everything sends) and as CloudFront
sends it (it compresses only responses of 1,000 bytes or more).
"""

from __future__ import annotations

from publisher import site
from publisher.served import served_files
from tests.conftest import REPO
from tests.deploy import page_graph


def main() -> None:
    web = REPO / "web"
    written, served = site.page_files(web), served_files(web)
    keys = sorted(page_graph.first_load(served))
    print(f"first load: {len(keys)} files")
    print(f"{'file':<40}{'written':>9}{'gzipped':>9}{'served':>9}{'gzipped':>9}")
    for key in keys:
        print(
            f"{key:<40}{len(written[key]):>9}{page_graph.gzipped_size(written[key]):>9}"
            f"{len(served[key]):>9}{page_graph.gzipped_size(served[key]):>9}"
        )
    for name, files in (("written", written), ("served", served)):
        print(
            f"{name}: {page_graph.first_load_gzipped(files)} B gzipped, "
            f"{page_graph.first_load_on_cloudfront(files)} B as CloudFront sends it"
        )
    lazy = sorted(k for k in served if k.endswith(".js") and k not in keys)
    print(f"loaded later: {', '.join(lazy)}")
