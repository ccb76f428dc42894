"""What a browser meets: sign-in and lockout, sessions and cookies, security headers and the
content security policy, mail for invitations and resets, password rules, and static files."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_email_url

from config.settings.environment import BASE_DIR, DEBUG, VAR_DIR, env_bool, env_int

# --- the dashboard: sign-in, sessions, security headers, mail ------------------------
# Email is the login (accounts.backends); django-axes sits in front of it, and of the admin's
# login, and locks a username at one address after AXES_FAILURE_LIMIT wrong passwords.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.EmailBackend",
    # Operators made with `createsuperuser` sign in to /admin/ by username.
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "dashboard-login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "dashboard-login"
AXES_FAILURE_LIMIT = env_int("SWITCHBOARD_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SWITCHBOARD_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Cookies are Secure outside DEBUG (dev.py, plain http on 127.0.0.1, relaxes this).
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# HTTPS (docs/operations.md, "TLS"). Behind a proxy that terminates TLS, Django learns that a
# request came over https from a header the proxy sets: SWITCHBOARD_PROXY_SSL_HEADER names its
# request.META key (HTTP_X_FORWARDED_PROTO, value "https"); production defaults to that one.
# Set it only when the proxy overwrites the header: a client could send it otherwise.
_PROXY_SSL_HEADER = os.environ.get("SWITCHBOARD_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (
    (_PROXY_SSL_HEADER, "https") if _PROXY_SSL_HEADER not in {"", "none"} else None
)
# HSTS on every https response outside DEBUG: a year unless SECURE_HSTS_SECONDS says otherwise
# (0 turns it off). Never on plain http, so `make run` on 127.0.0.1 is not affected.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# No inline script or style anywhere on our pages; the admin brings its own (Django's) and
# keeps its defaults. The ReDoc page (/v1/docs) runs under this policy too, with two additions
# of its own (config.urls.ApiDocsView): ReDoc injects its styles and searches in a worker.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/admin/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

# Mail (invitations, password resets): EMAIL_URL in production (smtp://user:pass@host:587
# with ?tls=True, see dj-email-url); files under ./var/mail/ otherwise, to read by hand.
EMAIL_URL = os.environ.get("EMAIL_URL", "")
if EMAIL_URL:
    vars().update(dj_email_url.config(default=EMAIL_URL))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Switchboard <no-reply@localhost>")
# Links in mail (invitations, password resets) start with this.
SWITCHBOARD_BASE_URL = os.environ.get("SWITCHBOARD_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# An invitation's set-password link works once, for this long.
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600

# --- auth, i18n, static -------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# WhiteNoise serves static files from where they live (each app's static/, ./static/), so the
# admin and the dashboard look right on a fresh clone, under `make run` and the Procfile, with
# no build step; files `collectstatic` put in STATIC_ROOT are served too (docs/operations.md).
WHITENOISE_USE_FINDERS = True
