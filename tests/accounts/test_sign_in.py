"""Signing in: by email, and locked after repeated wrong passwords, on the dashboard and admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts import services

PASSWORD = "a long and proper password"


@pytest.fixture
def person(alice):
    return services.member_add(
        account=alice.account, email="Person@Example.com", role="owner", password=PASSWORD
    ).membership.user


def sign_in(client: Client, email: str, password: str):
    return client.post("/dashboard/login/", {"username": email, "password": password})


def test_the_email_is_the_login_whatever_its_case(person):
    response = sign_in(Client(), "PERSON@example.COM", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"


def test_a_wrong_password_shows_the_form_again(person):
    response = sign_in(Client(), "person@example.com", "wrong")
    assert response.status_code == 200
    assert b"That email and password do not match" in response.content


def test_the_dashboard_login_locks_after_five_wrong_passwords(person):
    client = Client()
    for _ in range(5):
        sign_in(client, "person@example.com", "wrong")
    locked = sign_in(client, "person@example.com", PASSWORD)
    assert locked.status_code == 429
    assert b"Too many wrong passwords" in locked.content


def test_the_admin_login_locks_too(db):
    User.objects.create_superuser("ops", "ops@example.com", PASSWORD)
    client = Client()
    statuses = [
        client.post("/admin/login/", {"username": "ops", "password": "wrong"}).status_code
        for _ in range(25)
    ]
    assert statuses[:4] == [200] * 4
    assert 429 in statuses
    locked = client.post("/admin/login/", {"username": "ops", "password": PASSWORD})
    assert locked.status_code == 429


def test_an_operator_signs_in_to_admin_by_username(db):
    User.objects.create_superuser("ops", "ops@example.com", PASSWORD)
    response = Client().post("/admin/login/", {"username": "ops", "password": PASSWORD})
    assert response.status_code == 302


def test_a_locked_sign_in_does_not_lock_another_person(person, alice):
    services.member_add(
        account=alice.account, email="other@example.com", role="viewer", password=PASSWORD
    )
    client = Client()
    for _ in range(6):
        sign_in(client, "person@example.com", "wrong")
    assert sign_in(client, "other@example.com", PASSWORD).status_code == 302
