"""`checker cache prune`: drop old result-cache entries and shrink the file."""

from __future__ import annotations

import click

from checker.cache import Cache, default_dir


def run(older_than_days: float) -> int:
    folder = default_dir()
    if not (folder / "cache.sqlite3").exists():
        click.echo(f"no cache at {folder}")
        return 0
    cache = Cache(folder)  # opening it drops the entries of other checker versions
    try:
        if not cache.enabled:
            click.echo(f"checker: error: cannot open the cache at {folder}", err=True)
            return 2
        before = cache.size()
        removed, after = cache.prune(older_than_days)
    finally:
        cache.close()
    click.echo(f"removed {removed:,} entries older than {older_than_days:g} days from {folder}: "
               f"{before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")
    return 0
