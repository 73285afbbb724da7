"""Sign-in and who may open what: the menu per role, and each page's own refusal; sign-in
limits shared across sessions; no start without a read-only token; loopback-only binding."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import REFUSED, SESSION_USER_KEY
from dashboard.nav import PAGES
from settings.stack import REPO_ROOT
from tests.dashboard.conftest import APP, World, open_page, sign_in
from tests.support.private_stack import free_port

pytestmark = pytest.mark.integration

ALL = [p.path for p in PAGES]
FLEET = ["pages/fleet_map.py", "pages/vehicle.py", "pages/alerts.py", "pages/trips.py", "pages/reports.py", "pages/replay.py"]
EXPECTED = {
    "admin": set(ALL),
    "manager": set(FLEET),
    "parent": set(FLEET),
    "trader": {"pages/prices.py", "pages/forecasts.py", "pages/exchanges.py", "pages/wallet.py"},
}
LOCKED = re.compile(r"Too many failed sign-ins; try again in \d+ s\.")


@pytest.fixture(autouse=True)
def private_sign_in_attempts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test counts failed sign-ins in its own file (the default is shared by all sessions)."""
    monkeypatch.setenv("DASHBOARD_SIGN_IN_ATTEMPTS_FILE", str(tmp_path / "sign-in.sqlite"))


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_wrong_password_is_refused(world: World) -> None:
    at = sign_in(world, "manager", password="not-the-password")
    assert SESSION_USER_KEY not in at.session_state
    assert [e.value for e in at.error] == ["Unknown user name or wrong password."]
    assert at.title[0].value == "ticktrack"


def test_unknown_user_is_refused_the_same_way(world: World) -> None:
    at = sign_in(world, "nobody", password="whatever-password")
    assert [e.value for e in at.error] == ["Unknown user name or wrong password."]


def test_signed_out_session_cannot_open_a_page(world: World) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    with pytest.raises(ValueError):
        at.switch_page("pages/fleet_map.py")  # not registered for a signed-out session


@pytest.mark.parametrize("user", sorted(EXPECTED))
def test_menu_per_role(world: World, user: str) -> None:
    """Right after sign-in the navigation holds exactly the role's pages, and each one renders."""
    for page in sorted(set(ALL) - EXPECTED[user]):
        with pytest.raises(ValueError):
            sign_in(world, user).switch_page(page)  # not in this role's navigation
    at = sign_in(world, user)
    for page in sorted(EXPECTED[user]):
        open_page(at, page)
        assert not at.error, (page, [e.value for e in at.error])


def test_signed_out_direct_page_run_asks_to_sign_in(world: World) -> None:
    """Streamlit may run a ``pages/`` file without app.py (its pages-folder mode): the page's own gate holds."""
    for page in ALL:
        at = AppTest.from_file(str(Path(APP).parent / page), default_timeout=60).run()
        assert [e.value for e in at.error] == ["Please sign in."]
        assert not at.dataframe and not at.get("plotly_chart")


@pytest.mark.parametrize(("user", "page"), [(u, p) for u in sorted(EXPECTED) for p in ALL if p not in EXPECTED[u]])
def test_page_refuses_a_user_outside_its_roles(world: World, user: str, page: str) -> None:
    """Even when run directly (bypassing the menu) a page refuses and queries nothing."""
    at = AppTest.from_file(str(Path(APP).parent / page), default_timeout=60)
    at.session_state[SESSION_USER_KEY] = user
    at.run()
    assert [e.value for e in at.error] == ["You do not have access to this page."]
    assert not at.dataframe and not at.get("plotly_chart")


def test_sign_out(world: World) -> None:
    at = sign_in(world, "trader")
    at.button(key="sign_out").click().run()
    assert SESSION_USER_KEY not in at.session_state
    assert not at.dataframe and not at.get("plotly_chart")  # the prices page no longer renders


@pytest.mark.parametrize("name", ["manager", "nobody"])
def test_failures_in_separate_sessions_lock_the_name(world: World, name: str) -> None:
    """Five wrong passwords, each from a fresh browser session, lock the name - known or not -
    with the same message; then even the right password is refused; other names are not locked."""
    seen = [errors(sign_in(world, name, password=f"wrong-password-{i}")) for i in range(5)]
    assert seen[:4] == [[REFUSED]] * 4
    assert len(seen[4]) == 1 and LOCKED.fullmatch(seen[4][0]), seen[4]
    at = sign_in(world, name)  # manager: the right password, in a sixth session
    assert SESSION_USER_KEY not in at.session_state
    assert len(errors(at)) == 1 and LOCKED.fullmatch(errors(at)[0])
    assert sign_in(world, "trader").session_state[SESSION_USER_KEY] == "trader"


def test_failures_from_one_client_lock_the_client(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASHBOARD_MAX_SIGN_IN_FAILURES_PER_CLIENT", "3")
    for i in range(3):
        sign_in(world, f"guess-{i}", password="wrong-password")
    at = sign_in(world, "admin")  # a right password from the same (locked) client
    assert SESSION_USER_KEY not in at.session_state
    assert len(errors(at)) == 1 and LOCKED.fullmatch(errors(at)[0])


def test_without_a_read_token_the_dashboard_refuses_to_start(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFLUX_READ_TOKEN", "")  # wins over var/stack.env
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert len(errors(at)) == 1 and "INFLUX_READ_TOKEN" in errors(at)[0], errors(at)
    assert not at.text_input  # no sign-in form
    monkeypatch.setenv("DASHBOARD_ALLOW_OPERATOR_TOKEN", "true")  # the development switch
    at = sign_in(world, "admin")
    assert at.session_state[SESSION_USER_KEY] == "admin"
    open_page(at, "pages/fleet_map.py")
    assert not at.error, errors(at)


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of sockets listening on the port."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.rsplit(":", 1)
            if state == "0A" and int(hexport, 16) == port:
                found.append(addr)
    return found


def test_dashboard_listens_on_loopback_only() -> None:
    """``streamlit run dashboard/app.py`` from the repo root, no address given: 127.0.0.1 only."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
                             "--server.headless", "true", "--server.fileWatcherType", "none"],
                            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _listening(port) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        time.sleep(0.5)  # IPv4 and IPv6 sockets are bound one after the other
        assert _listening(port) == ["0100007F"], _listening(port)  # 127.0.0.1, nothing else
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    demo = (REPO_ROOT / "scripts" / "demo.sh").read_text()
    assert '--server.address "${DASHBOARD_ADDRESS:-127.0.0.1}"' in demo
