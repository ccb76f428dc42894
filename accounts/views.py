"""Dashboard pages of accounts: signing in and out, passwords, choosing an account."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from accounts.dashboard import Role, Seat, account_page, memberships_of, render_page
from accounts.forms import EmailLoginForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailLoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("dashboard-password-reset-sent")


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """A one-time link (invitation or reset) to choose a password; it works once."""

    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("dashboard-password-set")
    post_reset_login = True
    post_reset_login_backend = "accounts.backends.EmailBackend"


class PasswordSetView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_set.html"


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The account last opened, else the first: every dashboard URL names its account."""
    memberships = memberships_of(request.user)
    if not memberships:
        return render(request, "accounts/no_account.html", status=200)
    remembered = request.session.get("dashboard_account")
    chosen = next((m for m in memberships if m.account_id == remembered), memberships[0])
    return redirect("dashboard-overview", account_id=chosen.account_id)


@login_required
def switch_account(request: HttpRequest) -> HttpResponse:
    """The header's account picker (a GET form, so it works without JavaScript)."""
    wanted = request.GET.get("account", "")
    if not any(m.account_id == wanted for m in memberships_of(request.user)):
        raise Http404("No such account.")
    return redirect("dashboard-overview", account_id=wanted)


# --- pages of an account -------------------------------------------------------------


@account_page()
def api_key_list(request: HttpRequest, seat: Seat) -> HttpResponse:
    return render_page(request, seat, "accounts/api_keys.html", {"section": "api-keys"})


@account_page(writes=Role.OWNER)
def team(request: HttpRequest, seat: Seat) -> HttpResponse:
    return render_page(request, seat, "accounts/team.html", {"section": "team"})
