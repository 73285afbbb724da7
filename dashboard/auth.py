"""Sign-in against the users file: bcrypt check, per-session attempt limit, no plaintext kept.

Only the user's *name* lives in ``st.session_state``; the user (role, fleets, vehicles) is
re-read from the file on every run, so removing a user or changing a role takes effect on
their next interaction without a restart.
"""

from __future__ import annotations

import time

import streamlit as st

from dashboard.config import DashboardSettings
from dashboard.users import User, check_password, load_users

SESSION_USER_KEY = "auth_user"
_FAILURES_KEY = "auth_failures"
_PAUSED_UNTIL_KEY = "auth_paused_until"
# Compared against when the name is unknown, so a wrong name costs as much time as a wrong password.
_DUMMY_HASH = "$2b$12$C5xMcipjJPXLy00.wIGTfu0pvaPuyg8sJpGiRvyRvIvDG1B8E.9xC"


def verify(users: dict[str, User], name: str, password: str) -> User | None:
    """The user when name and password match, else None (constant work either way)."""
    user = users.get(name.strip())
    ok = check_password(password, user.password_hash if user else _DUMMY_HASH)
    return user if (user is not None and ok) else None


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


def sign_in_form(settings: DashboardSettings) -> None:
    """The sign-in page: a form; on success the session remembers the name and the app reruns."""
    st.title("ticktrack")
    st.subheader("Sign in")
    paused_until = float(st.session_state.get(_PAUSED_UNTIL_KEY, 0.0))
    with st.form("sign_in"):
        name = st.text_input("User name", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return
    if time.time() < paused_until:
        st.error(f"Too many failed attempts; try again in {int(paused_until - time.time()) + 1} s.")
        return
    user = verify(load_users(settings.users_file), name, password)
    if user is None:
        failures = int(st.session_state.get(_FAILURES_KEY, 0)) + 1
        st.session_state[_FAILURES_KEY] = failures
        if failures >= settings.max_sign_in_failures:
            st.session_state[_PAUSED_UNTIL_KEY] = time.time() + settings.sign_in_pause_s
            st.session_state[_FAILURES_KEY] = 0
        st.error("Unknown user name or wrong password.")
        return
    st.session_state[_FAILURES_KEY] = 0
    st.session_state[SESSION_USER_KEY] = user.name
    st.rerun()
