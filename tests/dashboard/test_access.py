"""Sign-in and who may open what: the menu per role, and each page's own refusal."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.auth import SESSION_USER_KEY
from dashboard.nav import PAGES
from tests.dashboard.conftest import APP, World, open_page, sign_in

pytestmark = pytest.mark.integration

ALL = [p.path for p in PAGES]
FLEET = ["pages/fleet_map.py", "pages/vehicle.py", "pages/alerts.py", "pages/trips.py"]
EXPECTED = {
    "admin": set(ALL),
    "manager": set(FLEET),
    "parent": set(FLEET),
    "trader": {"pages/prices.py"},
}


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
