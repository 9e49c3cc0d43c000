"""`python -m local` runs the local stack (same as `python -m local.stack`)."""

from local.stack import main

main()
