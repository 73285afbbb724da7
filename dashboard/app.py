"""Entry point: ``streamlit run dashboard/app.py``. Signs in, then routes to the pages of the role.

Without a read-only InfluxDB token (``INFLUX_READ_TOKEN``) every session gets only an error
naming it. A signed-out session gets only the sign-in page; ``st.navigation`` is always called, so the
``pages/`` folder is never exposed by Streamlit's automatic page discovery.
"""

from __future__ import annotations

import streamlit as st

from access.scope import scope_for
from dashboard import auth
from dashboard.config import load_dashboard_settings
from dashboard.nav import pages_for
from settings.errors import ConfigError
from settings.logs import configure_logging
from settings.stack import load_stack_settings


def _sign_in() -> None:
    auth.sign_in_form(load_dashboard_settings())


@st.cache_resource
def _logging() -> bool:
    """JSON lines to stderr and VictoriaLogs, once per server process (the script reruns per interaction)."""
    configure_logging(service="dashboard")
    return True


st.set_page_config(page_title="ticktrack", page_icon=":material/local_shipping:", layout="wide")
_logging()
_settings = load_dashboard_settings()
try:  # no read-only InfluxDB token: refuse, before anyone signs in, rather than read as the operator
    load_stack_settings().reader_token(_settings.allow_operator_token)
except ConfigError as _exc:
    st.error(str(_exc))
    st.stop()
_user = auth.current_user(_settings)
if _user is None:
    _page = st.navigation([st.Page(_sign_in, title="Sign in", url_path="sign-in", default=True)], position="hidden")
else:
    with st.sidebar:
        st.text(f"Signed in as {_user.name} ({_user.role})")
        st.button("Sign out", on_click=auth.sign_out, key="sign_out")
    _specs = pages_for(scope_for(_user))
    if not _specs:
        st.warning("Your account has no pages; ask an admin to assign fleets or vehicles.")
        st.stop()
    _page = st.navigation([st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url_path) for p in _specs])
_page.run()
