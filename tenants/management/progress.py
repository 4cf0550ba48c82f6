"""The progress bar of the operator commands' long steps (refill_tenant_pool, export_tenant)."""


class ProgressBar:
    """``[#####.....] 5/10 spares`` redrawn in place on a terminal, one line per step otherwise
    (a log file gets every step, not carriage returns). Call it as ``bar(done, total)``."""

    width = 30

    def __init__(self, stream, label: str):
        self.stream, self.label = stream, label
        self.tty = getattr(stream, "isatty", lambda: False)()

    def __call__(self, done: int, total: int) -> None:
        if total == 0:
            return
        filled = self.width * done // total
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {self.label}"
        if self.tty:
            self.stream.write(f"\r{line}", ending="\n" if done == total else "")
            self.stream.flush()
        else:
            self.stream.write(line)
