"""Server tools: small functions the companion runs when the model calls them (docs/tools.md).

The package names what a tool and the session need. The executor (`vend.tools.executor`, threads and
futures) is imported by the companion alone, so the vend function's cold start does not pay for it.
"""

from vend.tools.registry import KNOWN, by_name, enabled
from vend.tools.schema import Describe, InvalidArguments
from vend.tools.tool import Tool

__all__ = ["KNOWN", "Describe", "InvalidArguments", "Tool", "by_name", "enabled"]
