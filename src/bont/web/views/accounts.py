"""Accounts: signing in (with the TOTP second factor when ``BONT_TOTP`` asks for it), the administrator's Users
pages (list and add users; per user: roles, disable and enable, a temporary password, unlock, API tokens, the
authenticator app) and every user's own password and authenticator app. Each change is a POST with CSRF; the
views translate to ``bont.services.users`` and back, in words."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from bont.bootstrap import clock, user_accounts
from bont.services.users import (
    ROLES,
    AccountError,
    add_user,
    administration_needs_second_factor,
    change_role,
    code_needed_at_sign_in,
    disable_user,
    enable_user,
    remove_second_factor,
    reset_password,
    revoke_token,
    unlock_user,
    user_tokens,
)
from bont.web.access import require_role

USERNAME_LENGTH = 150  # Django's limit
PENDING = "bont_second_factor_pending"  # the session key of a password accepted, awaiting the app's code
PENDING_SECONDS = 300  # the code must follow the password within five minutes
CODE_LENGTH = 6


def _totp_mode() -> str:
    return str(settings.BONT_TOTP)


def _safe_next(request: HttpRequest, wanted: str | None) -> str:
    """Where to go after signing in: the page asked for, if it is one of ours."""
    if wanted and url_has_allowed_host_and_scheme(wanted, {request.get_host()}, request.is_secure()):
        return wanted
    return str(settings.LOGIN_REDIRECT_URL)


class SignInView(auth_views.LoginView):
    """Django's sign-in (throttled by django-axes); when the user has enrolled an authenticator app and the
    second factor is on, a right password leads to the code page instead of signing in."""

    template_name = "web/login.html"

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if not code_needed_at_sign_in(_totp_mode(), user_accounts().second_factor(user.get_username()).enrolled()):
            return super().form_valid(form)
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": getattr(user, "backend", ""),
            "at": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("sign_in_code")


def sign_in_code(request: HttpRequest) -> HttpResponse:
    """The second step of signing in: the current code of the user's authenticator app."""
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return redirect("login")
    error = ""
    if request.method == "POST":
        user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
        code = request.POST.get("code", "")
        device = user_accounts().second_factor(user.get_username()).verify(code) if user is not None else None
        if user is not None and device is not None:
            del request.session[PENDING]
            login(request, user, backend=pending["backend"] or None)
            django_otp.login(request, device)
            return redirect(_safe_next(request, pending["next"]))
        error = "That code is not right, or it was used already: wait for the next code and try again."
    return render(
        request,
        "web/accounts/sign_in_code.html",
        {"error": error, "code_length": CODE_LENGTH},
        status=400 if error else 200,
    )


def _administration(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponseBase]:
    """An administrator's page: the admin role, and with ``BONT_TOTP=required-for-admin`` a session signed in
    with the authenticator app's code (otherwise the user is sent to enrol an app or give its code)."""

    @require_role("admin")
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if administration_needs_second_factor(_totp_mode(), request.user.is_verified()):  # type: ignore[union-attr]
            messages.info(
                request, "The administration pages need your authenticator app: enrol it, or give its code, first."
            )
            return redirect(f"{reverse('two_factor')}?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return guarded


@_administration
def users(request: HttpRequest) -> HttpResponse:
    """Every user with their roles, whether disabled or locked out, and their last sign-in; and a form to add
    one (POST) with a role and a temporary password that passes the clinic's policy."""
    accounts = user_accounts()
    errors: dict[str, str] = {}
    entered = {"username": "", "role": ""}
    if request.method == "POST":
        entered = {"username": request.POST.get("username", "").strip(), "role": request.POST.get("role", "")}
        try:
            add_user(
                accounts, entered["username"], entered["role"], request.POST.get("password", ""), check_password=True
            )
        except AccountError as error:
            errors[error.field] = error.problem
        else:
            messages.success(request, f"User {entered['username']} added with the role {entered['role']}.")
            return redirect(reverse("user", args=[entered["username"]]))
    return render(
        request,
        "web/accounts/users.html",
        {
            "users": accounts.users(),
            "roles": ROLES,
            "errors": errors,
            "entered": entered,
            "username_length": USERNAME_LENGTH,
        },
        status=400 if errors else 200,
    )


def _change(request: HttpRequest, username: str) -> str:
    """Carry out the change the user page's form asks for; returns what was done, in words."""
    accounts = user_accounts()
    by = request.user.get_username()
    action = request.POST.get("action", "")
    if action == "disable":
        disable_user(accounts, username, by=by)
        return f"{username} is disabled: they cannot sign in and their API tokens are refused."
    if action == "enable":
        enable_user(accounts, username)
        return f"{username} is enabled again."
    if action in ("add-role", "remove-role"):
        role = request.POST.get("role", "")
        change_role(accounts, username, role, remove=action == "remove-role", by=by)
        return f"Role {role} {'taken from' if action == 'remove-role' else 'given to'} {username}."
    if action == "password":
        reset_password(accounts, username, request.POST.get("password", ""))
        return f"Temporary password set for {username}; ask them to change it after signing in."
    if action == "unlock":
        cleared = unlock_user(accounts, username)
        return f"{username} may sign in again." if cleared else f"{username} was not locked out."
    if action == "remove-second-factor":
        removed = remove_second_factor(accounts, username)
        return (
            f"{username}'s authenticator app is removed: they sign in with their password and may enrol a new one."
            if removed
            else f"{username} had no authenticator app."
        )
    if action == "revoke-token":
        token = request.POST.get("token", "")
        if not token.isdigit() or int(token) not in {t.id for t in user_tokens(accounts, username)}:
            raise AccountError("token", "no such token for this user")
        revoke_token(accounts, int(token), clock().now())
        return f"API token {token} revoked: the API refuses it from now on."
    raise AccountError("action", "choose one of the buttons on this page")


@_administration
def user(request: HttpRequest, username: str) -> HttpResponse:
    """One user: roles, state, a temporary password, unlock, and their API tokens (each change a POST)."""
    accounts = user_accounts()
    row = next((u for u in accounts.users() if u.username == username), None)
    if row is None:
        raise Http404("no such user")
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            done = _change(request, username)
        except AccountError as error:
            errors[error.field] = error.problem
        else:
            messages.success(request, done)
            return redirect(reverse("user", args=[username]))
    now = clock().now()
    return render(
        request,
        "web/accounts/user.html",
        {
            "account": row,
            "roles": ROLES,
            "other_roles": [r for r in ROLES if r not in row.roles],
            "tokens": [(t, t.state(now)) for t in user_tokens(accounts, username)],
            "errors": errors,
        },
        status=400 if errors else 200,
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "web/accounts/password_change.html"
    success_url = "/password/done/"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "totp": _totp_mode() != "off"}


password_change = PasswordChangeView.as_view()
password_change_done = auth_views.PasswordChangeDoneView.as_view(template_name="web/accounts/password_change_done.html")


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """The user's own authenticator app: enrol one (the otpauth URI and its secret are shown as text, for the
    app to read or for typing in; confirmed by the app's first code), or give its code to verify this session
    when the administration pages ask for it. 404 while ``BONT_TOTP`` is off."""
    if _totp_mode() == "off":
        raise Http404("the second factor is off")
    factor = user_accounts().second_factor(request.user.get_username())
    enrolled = factor.enrolled()
    wanted = request.POST.get("next") or request.GET.get("next")
    error = ""
    if request.method == "POST":
        code = request.POST.get("code", "")
        device = factor.verify(code) if enrolled else factor.confirm(code)
        if device is not None:
            django_otp.login(request, device)
            messages.success(
                request,
                "This session is signed in with your authenticator app."
                if enrolled
                else "Your authenticator app is enrolled: signing in now asks for its code after your password.",
            )
            return redirect(_safe_next(request, wanted) if wanted else reverse("two_factor"))
        error = "That code is not right, or it was used already: wait for the next code and try again."
    setup_address = "" if enrolled else factor.setup_address()
    return render(
        request,
        "web/accounts/two_factor.html",
        {
            "enrolled": enrolled,
            "verified": request.user.is_verified(),  # type: ignore[union-attr]
            "config_url": setup_address,
            "secret": _secret_of(setup_address) if setup_address else "",
            "error": error,
            "next": wanted or "",
            "code_length": CODE_LENGTH,
        },
        status=400 if error else 200,
    )


def _secret_of(config_url: str) -> str:
    """The base32 secret of an otpauth URI, in groups of four for typing into an app by hand."""
    secret = parse_qs(urlsplit(config_url).query)["secret"][0]
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
