"""Dashboard routes of accounts: `urlpatterns` under /dashboard/, `account_urlpatterns`
under /dashboard/<account_id>/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from accounts import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.dashboard, name="dashboard"),
    path("switch/", views.switch_account, name="dashboard-switch"),
    path("login/", views.LoginView.as_view(), name="dashboard-login"),
    path("logout/", views.LogoutView.as_view(), name="dashboard-logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="dashboard-password-reset"),
    path(
        "password-reset/sent/",
        views.PasswordResetSentView.as_view(),
        name="dashboard-password-reset-sent",
    ),
    path(
        "password/<uidb64>/<token>/",
        views.SetPasswordView.as_view(),
        name="dashboard-set-password",
    ),
    path("password/done/", views.PasswordSetView.as_view(), name="dashboard-password-set"),
]

account_urlpatterns: list[URLPattern | URLResolver] = [
    path("api-keys/", views.api_key_list, name="dashboard-api-keys"),
    path("api-keys/new/", views.api_key_create, name="dashboard-api-key-create"),
    path("api-keys/<str:key_id>/revoke/", views.api_key_revoke, name="dashboard-api-key-revoke"),
    path("team/", views.team, name="dashboard-team"),
    path("team/invite/", views.member_invite, name="dashboard-member-invite"),
    path("team/<int:membership_id>/role/", views.member_role, name="dashboard-member-role"),
    path("team/<int:membership_id>/remove/", views.member_remove, name="dashboard-member-remove"),
    path("settings/name/", views.account_rename, name="dashboard-account-rename"),
    path("settings/opt-outs/", views.account_compliance, name="dashboard-account-compliance"),
]
