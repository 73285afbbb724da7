"""Sign-in against the users file: bcrypt check, attempt limits shared by all sessions, no plaintext kept.

Only the user's *name* lives in ``st.session_state``; the user (role, fleets, vehicles) is
re-read from the file on every run, so removing a user or changing a role takes effect on
their next interaction without a restart. Failed attempts are counted per user name and per
client in ``DASHBOARD_SIGN_IN_ATTEMPTS_FILE`` (``access.auth_limits``), so neither a new
browser session nor a second dashboard process starts the count afresh.
"""

from __future__ import annotations

import math

import streamlit as st

from access.auth_limits import SignInLimiter, SignInLimits
from access.users import User, load_users, verify
from dashboard.config import DashboardSettings

SESSION_USER_KEY = "auth_user"
REFUSED = "Unknown user name or wrong password."
LOCAL_CLIENT = "local"  # Streamlit reports no address for loopback connections
def current_user(settings: DashboardSettings) -> User | None:
    """The signed-in user, freshly read from the users file; None when signed out or removed."""
    name = st.session_state.get(SESSION_USER_KEY)
    if not name:
        return None
    user = load_users(settings.users_file).get(name)
    if user is None:
        st.session_state.pop(SESSION_USER_KEY, None)
    return user


def sign_out() -> None:
    """Forget the user of this session."""
    st.session_state.pop(SESSION_USER_KEY, None)


def limiter(settings: DashboardSettings) -> SignInLimiter:
    """The shared failure counter the settings describe."""
    return SignInLimiter(settings.sign_in_attempts_file, SignInLimits(
        max_per_user=settings.max_sign_in_failures, max_per_client=settings.max_sign_in_failures_per_client,
        window_s=settings.sign_in_window_s, lockout_s=settings.sign_in_lockout_s))


def client_address() -> str:
    """The peer address of this session's WebSocket (behind a proxy: the proxy's)."""
    address = st.context.ip_address
    return address if isinstance(address, str) and address else LOCAL_CLIENT


def locked_message(seconds: float) -> str:
    """The same text whether the name exists or not, and whether the name or the client is locked."""
    return f"Too many failed sign-ins; try again in {math.ceil(seconds)} s."


def sign_in_form(settings: DashboardSettings) -> None:
    """The sign-in page: a form; on success the session remembers the name and the app reruns."""
    st.title("ticktrack")
    st.subheader("Sign in")
    with st.form("sign_in"):
        name = st.text_input("User name", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return
    limits, client = limiter(settings), client_address()
    wait_s = limits.locked_for(name, client)
    if wait_s > 0:
        st.error(locked_message(wait_s))  # no password check while locked, not even a right one
        return
    user = verify(load_users(settings.users_file), name, password)
    if user is None:
        wait_s = limits.record_failure(name, client)
        st.error(locked_message(wait_s) if wait_s > 0 else REFUSED)
        return
    limits.record_success(name)
    st.session_state[SESSION_USER_KEY] = user.name
    st.rerun()
