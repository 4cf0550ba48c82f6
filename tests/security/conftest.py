"""The security suite's summary line: how many URL x input x persona cases the hostile walk ran."""

from tests.security.walk import CASES_KEY


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    walks = config.stash.get(CASES_KEY, {})
    if not walks:
        return
    cases = sum(c for c, _, _ in walks.values())
    requests = sum(r for _, r, _ in walks.values())
    terminalreporter.write_sep("-", "hostile input walk")
    for (site, personas), (c, r, urls) in sorted(walks.items()):
        terminalreporter.write_line(f"{site} as {', '.join(personas)}: {urls} URLs, {c} cases, {r} requests")
    terminalreporter.write_line(f"total: {cases} URL x input x persona cases, {requests} requests")
