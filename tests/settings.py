"""Test settings: the real settings with a throwaway secret key (tests run with DEBUG off)."""
import os

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-not-for-production-0123456789")
# The test client speaks plain HTTP: no HTTPS redirect or secure-only cookies (a deployment keeps them on).
os.environ.setdefault("DJANGO_SECURE", "0")

from inventory_alloc.settings import *  # noqa: E402,F403

# Webhook receivers in the tests listen on loopback; the dispatcher runs when a test says so.
WEBHOOK_ALLOW_PRIVATE = True
EVENTS_KICK = "off"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
