"""One progress bar for every command that takes more than a few seconds (training epochs,
co-simulated samples, build stages, deploy frames): tqdm on stderr, so ``--json`` keeps stdout
clean, and off with ``--json`` or when stderr is not a terminal (CI logs, pipes)."""

import sys

__all__ = ["Progress"]


class Progress:
    """``with Progress(args, total, "cosim", "sample") as bar: ... bar(done)`` — also usable as
    the ``progress(done, total)`` callback the libraries take."""

    def __init__(self, args, total, desc, unit):
        from tqdm import tqdm

        quiet = bool(getattr(args, "json", False)) or not sys.stderr.isatty()
        self.bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=quiet,
                        leave=True, dynamic_ncols=True)

    @property
    def enabled(self) -> bool:
        return not self.bar.disable

    def __call__(self, done, total=None, status=None):
        if total is not None and total != self.bar.total:
            self.bar.total = total
        if status is not None:
            self.bar.set_postfix_str(status, refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self):
        self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
