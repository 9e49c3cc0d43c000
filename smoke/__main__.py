"""`python -m smoke`: see smoke.checks."""

from smoke.checks import main

if __name__ == "__main__":
    raise SystemExit(main())
