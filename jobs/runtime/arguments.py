"""Command-line argument types and the arguments every step shares."""

from __future__ import annotations

import argparse
from datetime import date


def iso_date(value: str) -> date:
    """argparse type for --date and friends: YYYY-MM-DD, with a clear message otherwise."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def add_night_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    """The required `--date YYYY-MM-DD` of a step that works on one night."""
    parser.add_argument("--date", type=iso_date, required=True, help=f"{help_text} (YYYY-MM-DD)")
