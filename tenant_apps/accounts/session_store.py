"""The session engine (settings.SESSION_ENGINE): Django's database sessions, keeping the rows of
accounts.UserSession (tenant_apps/accounts/user_sessions.py) in step with the sessions they list.

Why in the engine: a session's key changes after the ``user_logged_in`` signal (login() and
``sign_in.start_session`` rotate it against fixation, a password change rotates it again), and the
engine is the one place every rotation goes through.
"""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    def cycle_key(self):
        old_key = self.session_key
        super().cycle_key()
        if old_key and old_key != self.session_key:
            from tenant_apps.accounts import user_sessions

            user_sessions.rekey(old_key, self.session_key)

    def load(self):
        data = super().load()
        if self.session_key and data.get(SESSION_KEY):
            from tenant_apps.accounts import user_sessions

            user_sessions.touch(self.session_key)
        return data

    @classmethod
    def clear_expired(cls):
        super().clear_expired()
        from tenant_apps.accounts import user_sessions

        user_sessions.forget_ended()
