"""The dashboard's API keys and team pages: who may do what, secrets shown once, no leaks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Account, ApiKey, Membership
from accounts.selectors import secret_hash
from tests.conftest import Tenant, assert_error, client_for

PASSWORD = "a-long-Passphrase-42"
SECRET_BOX = re.compile(r'<code id="revealed-secret">([^<]+)</code>')
SET_PASSWORD_LINK = re.compile(r"https?://[^/\s]+(/dashboard/password/[^/\s]+/[^/\s]+/)")


def member(account: Account, email: str, role: str) -> User:
    """A person in `account` with `role`, made through the real service."""
    return services.member_add(account=account, email=email, role=role).membership.user


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(account: Account, name: str, **kwargs: Any) -> str:
    return reverse(name, kwargs={"account_id": account.pk, **kwargs})


def text(response: Any) -> str:
    return response.content.decode()


def owner_of(tenant: Tenant) -> User:
    """The owner the fixture made (alice@example.com for alice)."""
    return Membership.objects.get(account=tenant.account, role=Membership.Role.OWNER).user


@pytest.fixture
def owner(alice: Tenant) -> Client:
    return signed_in(owner_of(alice))


@pytest.fixture
def developer(alice: Tenant) -> Client:
    return signed_in(member(alice.account, "dev@example.com", Membership.Role.DEVELOPER))


@pytest.fixture
def viewer(alice: Tenant) -> Client:
    return signed_in(member(alice.account, "viewer@example.com", Membership.Role.VIEWER))


def create_key_on_the_page(client: Client, account: Account, name: str) -> tuple[Any, str]:
    """POST the create form, follow to the list; the page and the secret it revealed."""
    response = client.post(page(account, "dashboard-api-key-create"), {"name": name}, follow=True)
    assert response.redirect_chain == [(page(account, "dashboard-api-keys"), 302)]
    found = SECRET_BOX.search(text(response))
    assert found is not None, text(response)
    return response, found.group(1)


def invite_on_the_page(
    client: Client, account: Account, email: str, role: str, capture: Any
) -> Any:
    with capture(execute=True):
        return client.post(
            page(account, "dashboard-member-invite"), {"email": email, "role": role}, follow=True
        )


# --- API keys ----------------------------------------------------------------------------


def test_a_signed_out_visitor_is_sent_to_the_login_page(alice):
    response = Client().get(page(alice.account, "dashboard-api-keys"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("dashboard-login"))


def test_the_api_keys_page_lists_the_accounts_keys_with_prefix_and_status(alice, viewer):
    revoked = services.api_key_create(account=alice.account, name="Old backend").api_key
    services.api_key_revoke(api_key=revoked)
    response = viewer.get(page(alice.account, "dashboard-api-keys"))
    assert response.status_code == 200
    body = text(response)
    assert "Default key" in body
    assert f"{alice.key[:12]}…" in body
    assert "never" in body
    assert "Old backend" in body
    assert '<span class="badge bad">revoked</span>' in body
    assert f"{revoked.revoked_at:%Y-%m-%d %H:%M} UTC" in body
    assert '<span class="badge ok">active</span>' in body
    assert response.context["section"] == "api-keys"


def test_a_developer_creates_a_key_and_sees_its_secret_only_once(alice, developer):
    response, secret = create_key_on_the_page(developer, alice.account, "Backend")
    assert secret.startswith("sk_live_")
    assert "will not be shown again" in text(response)
    assert 'data-copy="revealed-secret"' in text(response)
    assert response["Cache-Control"] == "no-store"
    again = developer.get(page(alice.account, "dashboard-api-keys"))
    assert secret not in text(again)
    assert 'id="revealed-secret"' not in text(again)


def test_a_key_created_on_the_page_works_against_the_api(alice, developer):
    _, secret = create_key_on_the_page(developer, alice.account, "Backend")
    response = client_for(secret).get("/v1/account")
    assert response.status_code == 200
    assert response.json()["data"]["id"] == alice.account.pk


def test_only_the_hash_of_a_key_created_on_the_page_is_stored(alice, developer):
    _, secret = create_key_on_the_page(developer, alice.account, "Backend")
    row = ApiKey.objects.filter(account=alice.account, name="Backend").values().get()
    assert row["secret_hash"] == secret_hash(secret)
    assert all(secret not in str(value) for value in row.values())
    assert all(secret[len("sk_live_") :] not in str(value) for value in row.values())


def test_a_key_needs_a_name(alice, developer):
    response = developer.post(page(alice.account, "dashboard-api-key-create"), {"name": ""})
    assert response.status_code == 400
    assert "This field is required." in text(response)
    assert ApiKey.objects.filter(account=alice.account).count() == 1


def test_opening_the_revoke_page_asks_to_confirm_and_revokes_nothing(alice, developer):
    issued = services.api_key_create(account=alice.account, name="Backend")
    response = developer.get(
        page(alice.account, "dashboard-api-key-revoke", key_id=issued.api_key.pk)
    )
    assert response.status_code == 200
    assert f"Revoke Backend ({issued.api_key.prefix}…)? Apps using it get 401 at once." in text(
        response
    )
    assert '<button type="submit" class="danger">Revoke key</button>' in text(response)
    assert client_for(issued.secret).get("/v1/account").status_code == 200


def test_confirming_the_revocation_makes_the_key_unauthorized(alice, developer):
    issued = services.api_key_create(account=alice.account, name="Backend")
    response = developer.post(
        page(alice.account, "dashboard-api-key-revoke", key_id=issued.api_key.pk), follow=True
    )
    assert response.redirect_chain == [(page(alice.account, "dashboard-api-keys"), 302)]
    assert f"Revoked Backend ({issued.api_key.prefix}…)" in text(response)
    assert_error(client_for(issued.secret).get("/v1/account"), 401, "unauthorized")


def test_a_viewer_sees_the_keys_but_no_create_form_or_revoke_links(alice, viewer):
    response = viewer.get(page(alice.account, "dashboard-api-keys"))
    assert response.status_code == 200
    body = text(response)
    assert "Default key" in body
    assert page(alice.account, "dashboard-api-key-create") not in body
    assert "/revoke/" not in body
    assert '<form method="post" action="/dashboard/acct' not in body


def test_a_viewer_cannot_create_a_key(alice, viewer):
    response = viewer.post(page(alice.account, "dashboard-api-key-create"), {"name": "Mine"})
    assert response.status_code == 403
    assert not ApiKey.objects.filter(name="Mine").exists()


def test_a_viewer_cannot_revoke_a_key(alice, viewer):
    api_key = ApiKey.objects.get(account=alice.account)
    response = viewer.post(page(alice.account, "dashboard-api-key-revoke", key_id=api_key.pk))
    assert response.status_code == 403
    assert alice.client.get("/v1/account").status_code == 200


def test_another_accounts_key_has_no_revoke_page(alice, charlie, developer):
    charlies_key = ApiKey.objects.get(account=charlie.account)
    url = page(alice.account, "dashboard-api-key-revoke", key_id=charlies_key.pk)
    assert developer.get(url).status_code == 404
    assert developer.post(url).status_code == 404
    assert charlie.client.get("/v1/account").status_code == 200


def test_another_accounts_api_keys_page_is_not_found(charlie, developer):
    assert developer.get(page(charlie.account, "dashboard-api-keys")).status_code == 404


def test_the_api_keys_page_runs_a_bounded_number_of_queries(
    alice, owner, django_assert_max_num_queries
):
    ApiKey.objects.bulk_create(
        ApiKey(
            account=alice.account, name=f"Key {n}", prefix="sk_live_abcd", secret_hash=f"{n:064x}"
        )
        for n in range(200)
    )
    with django_assert_max_num_queries(10):
        response = owner.get(page(alice.account, "dashboard-api-keys"))
    assert response.status_code == 200
    assert text(response).count("/revoke/") == 201


# --- team and settings -------------------------------------------------------------------


def test_an_owner_invites_a_teammate_by_email(alice, owner, django_capture_on_commit_callbacks):
    response = invite_on_the_page(
        owner, alice.account, "new@example.com", "developer", django_capture_on_commit_callbacks
    )
    assert response.redirect_chain == [(page(alice.account, "dashboard-team"), 302)]
    assert "Invited new@example.com as developer" in text(response)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@example.com"]
    assert SET_PASSWORD_LINK.search(str(mail.outbox[0].body)) is not None
    membership = Membership.objects.get(account=alice.account, user__email="new@example.com")
    assert membership.role == "developer"


def test_the_invitation_link_works_once(alice, owner, django_capture_on_commit_callbacks):
    invite_on_the_page(
        owner, alice.account, "new@example.com", "viewer", django_capture_on_commit_callbacks
    )
    found = SET_PASSWORD_LINK.search(str(mail.outbox[0].body))
    assert found is not None
    link = found.group(1)
    invitee = Client()
    form = invitee.get(link, follow=True)
    assert "Choose a password" in text(form)
    chosen = invitee.post(
        form.redirect_chain[-1][0], {"new_password1": PASSWORD, "new_password2": PASSWORD}
    )
    assert chosen.status_code == 302
    assert chosen["Location"] == reverse("dashboard-password-set")
    assert User.objects.get(email="new@example.com").check_password(PASSWORD)
    again = Client().get(link, follow=True)
    assert "This link has been used or has expired" in text(again)


def test_an_invalid_invitation_shows_the_form_again_with_its_error(alice, owner):
    response = owner.post(
        page(alice.account, "dashboard-member-invite"), {"email": "not-an-email", "role": "viewer"}
    )
    assert response.status_code == 400
    assert "Enter a valid email address." in text(response)
    assert not mail.outbox


def test_an_owner_changes_a_members_role(alice, owner):
    bob = member(alice.account, "bob@example.com", "viewer")
    membership = Membership.objects.get(user=bob)
    response = owner.post(
        page(alice.account, "dashboard-member-role", membership_id=membership.pk),
        {"role": "developer"},
        follow=True,
    )
    assert response.redirect_chain == [(page(alice.account, "dashboard-team"), 302)]
    assert "bob@example.com is now developer." in text(response)
    membership.refresh_from_db()
    assert membership.role == "developer"


def test_the_last_owner_cannot_be_demoted(alice, owner):
    membership = Membership.objects.get(user=owner_of(alice))
    response = owner.post(
        page(alice.account, "dashboard-member-role", membership_id=membership.pk),
        {"role": "viewer"},
        follow=True,
    )
    assert response.status_code == 200
    assert '<p class="notice error">An account keeps at least one owner.</p>' in text(response)
    membership.refresh_from_db()
    assert membership.role == "owner"


def test_the_last_owner_cannot_be_removed(alice, owner):
    membership = Membership.objects.get(user=owner_of(alice))
    response = owner.post(
        page(alice.account, "dashboard-member-remove", membership_id=membership.pk), follow=True
    )
    assert response.redirect_chain == [(page(alice.account, "dashboard-team"), 302)]
    assert '<p class="notice error">An account keeps at least one owner.</p>' in text(response)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_opening_the_remove_page_asks_to_confirm_and_removes_nobody(alice, owner):
    membership = Membership.objects.get(user=member(alice.account, "bob@example.com", "viewer"))
    url = page(alice.account, "dashboard-member-remove", membership_id=membership.pk)
    response = owner.get(url)
    assert response.status_code == 200
    assert "Remove bob@example.com (viewer) from Alice Co?" in text(response)
    assert "Remove bob@example.com</button>" in text(response)
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_an_owner_removes_a_member_after_confirming(alice, owner):
    membership = Membership.objects.get(user=member(alice.account, "bob@example.com", "viewer"))
    url = page(alice.account, "dashboard-member-remove", membership_id=membership.pk)
    response = owner.post(url, follow=True)
    assert "Removed bob@example.com from Alice Co." in text(response)
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_an_owner_who_removes_themselves_leaves_the_account(alice, owner):
    membership = Membership.objects.get(user=owner_of(alice))
    services.member_add(account=alice.account, email="second@example.com", role="owner")
    url = page(alice.account, "dashboard-member-remove", membership_id=membership.pk)
    assert f"Leave {alice.account.name}</button>" in text(owner.get(url))
    response = owner.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    assert owner.get(page(alice.account, "dashboard-team")).status_code == 404


def test_an_owner_renames_the_account(alice, owner):
    response = owner.post(
        page(alice.account, "dashboard-account-rename"), {"name": "Alice Holdings"}, follow=True
    )
    assert response.redirect_chain == [(page(alice.account, "dashboard-team"), 302)]
    assert "The account is now called Alice Holdings." in text(response)
    assert Account.objects.get(pk=alice.account.pk).name == "Alice Holdings"


def test_the_team_page_shows_members_and_the_accounts_settings(alice, viewer):
    response = viewer.get(page(alice.account, "dashboard-team"))
    assert response.status_code == 200
    body = text(response)
    assert "alice@example.com" in body
    assert "viewer@example.com" in body
    assert alice.account.pk in body
    assert "120 requests per minute, per key" in body
    assert "Today&#x27;s usage" not in body
    assert response.context["section"] == "team"


@pytest.mark.parametrize("role", ["developer", "viewer"])
def test_members_who_are_not_owners_see_the_team_without_change_controls(alice, role):
    client = signed_in(member(alice.account, f"{role}@example.com", role))
    body = text(client.get(page(alice.account, "dashboard-team")))
    assert "Save role" not in body
    assert "/remove/" not in body
    assert page(alice.account, "dashboard-member-invite") not in body
    assert page(alice.account, "dashboard-account-rename") not in body


@pytest.mark.parametrize(
    ("name", "form", "of_a_member"),
    [
        ("dashboard-member-invite", {"email": "new@example.com", "role": "owner"}, False),
        ("dashboard-member-role", {"role": "developer"}, True),
        ("dashboard-member-remove", {}, True),
        ("dashboard-account-rename", {"name": "Taken over"}, False),
    ],
)
def test_a_developer_cannot_change_the_team_or_the_account(
    alice, developer, name, form, of_a_member
):
    owners = Membership.objects.filter(account=alice.account, role="owner")
    kwargs = {"membership_id": owners.get().pk} if of_a_member else {}
    response = developer.post(page(alice.account, name, **kwargs), form)
    assert response.status_code == 403
    assert Membership.objects.filter(account=alice.account).count() == 2
    assert owners.get().user.email == "alice@example.com"
    assert Account.objects.get(pk=alice.account.pk).name == "Alice Co"
    assert not mail.outbox


@pytest.mark.parametrize("name", ["dashboard-member-role", "dashboard-member-remove"])
def test_another_accounts_member_is_not_found(alice, charlie, owner, name):
    charlies_owner = Membership.objects.get(account=charlie.account)
    url = page(alice.account, name, membership_id=charlies_owner.pk)
    assert owner.post(url, {"role": "viewer"}).status_code == 404
    charlies_owner.refresh_from_db()
    assert charlies_owner.role == "owner"


def test_the_team_page_runs_a_bounded_number_of_queries(
    alice, owner, django_assert_max_num_queries
):
    users = User.objects.bulk_create(
        User(username=f"m{n}@example.com", email=f"m{n}@example.com") for n in range(200)
    )
    Membership.objects.bulk_create(
        Membership(account=alice.account, user=user, role="viewer") for user in users
    )
    with django_assert_max_num_queries(10):
        response = owner.get(page(alice.account, "dashboard-team"))
    assert response.status_code == 200
    assert text(response).count("Save role") == 201
