"""Accounts (``/users``): admins add, change and remove the desk's accounts.

The page lists every account with its role and when it last changed, and a
form acts on the account named in it: add it (with a role and a password),
give it another role, set its password, or remove it. Only an admin sees the
form, and the server checks the role again on every act. An admin cannot
remove their own account or take their own admin role away, so the desk is
never left without one. The same acts are open from the command line
(``pantaulaut user``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, cast

import dash
from dash import Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from pantaulaut.dashboard.auth import (
    MIN_PASSWORD_CHARS,
    Role,
    add_account,
    check_user_name,
    current_user,
    hash_password,
    require_role,
)
from pantaulaut.dashboard.figures import format_wib
from pantaulaut.dashboard.i18n import t
from pantaulaut.dashboard.pages import DeskContext, Page, PageRequest
from pantaulaut.errors import AccountError, PantaulautError
from pantaulaut.store.base import Accounts, UserRecord

__all__ = ["PAGE", "account_rows"]

log = logging.getLogger(__name__)

_BUTTONS = {
    "users-add": "add",
    "users-set-role": "role",
    "users-set-password": "password",
    "users-remove": "remove",
}


def account_rows(users: Sequence[UserRecord]) -> list[Any]:
    """The table's rows: name, role, last change (WIB)."""
    rows = [
        html.Tr(
            [
                html.Th(t("auth.field_user")),
                html.Th(t("auth.users.role")),
                html.Th(t("auth.users.changed")),
            ]
        )
    ]
    for user in users:
        role = t(f"auth.role.{user.role}") if user.role in set(Role) else user.role
        data: dict[str, Any] = {"data-user": user.name}
        rows.append(
            html.Tr(
                [html.Td(user.name), html.Td(role), html.Td(format_wib(user.changed))],
                className="user-row",
                **data,
            )
        )
    return rows


def _accounts(context: DeskContext) -> Accounts:
    return cast(Accounts, context.store)


def layout(request: PageRequest) -> Any:
    """The page; the form only for admins."""
    user = current_user()
    if user is None or not user.role.allows(Role.ADMIN):
        return html.Section(
            className="desk-page users-page",
            children=[
                html.H2(t("auth.users.title")),
                html.P(
                    t(
                        "auth.refused_role",
                        role=t(f"auth.role.{user.role.value}") if user else "-",
                        needed=t("auth.role.admin"),
                    ),
                    className="users-refused",
                ),
            ],
        )
    try:
        users = _accounts(request.context).list_users()
    except PantaulautError:
        log.exception("accounts page: cannot read the accounts")
        users = []
    roles = [{"label": t(f"auth.role.{r.value}"), "value": r.value} for r in Role]
    return html.Section(
        className="desk-page users-page",
        children=[
            html.H2(t("auth.users.title")),
            html.Table(account_rows(users), id="users-table", className="users"),
            html.Div(
                className="users-form",
                children=[
                    dcc.Input(
                        id="users-name",
                        type="text",
                        placeholder=t("auth.field_user"),
                        autoComplete="off",
                    ),
                    dcc.Dropdown(
                        id="users-role",
                        options=roles,
                        value=Role.VIEWER.value,
                        clearable=False,
                    ),
                    dcc.Input(
                        id="users-password",
                        type="password",
                        placeholder=t("auth.users.new_password"),
                        autoComplete="new-password",
                    ),
                    html.Button(t("auth.users.add"), id="users-add", n_clicks=0),
                    html.Button(
                        t("auth.users.set_role"), id="users-set-role", n_clicks=0
                    ),
                    html.Button(
                        t("auth.users.set_password"),
                        id="users-set-password",
                        n_clicks=0,
                    ),
                    html.Button(t("auth.users.remove"), id="users-remove", n_clicks=0),
                ],
            ),
            html.Div(id="users-feedback", className="users-feedback", role="status"),
        ],
    )


def _act(
    accounts: Accounts, actor: str, verb: str, name: str, role: str, password: str
) -> str:
    """Carry out one act; returns the message for the page.

    Raises:
        AccountError: The act is refused (with the reason for the page).
        StoreError: The store refused.
    """
    if not name:
        raise AccountError(t("auth.users.name_needed"))
    if verb in ("add", "password") and len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(t("auth.users.short_password", chars=MIN_PASSWORD_CHARS))
    if verb == "add":
        try:
            check_user_name(name)
        except AccountError:
            raise AccountError(t("auth.users.bad_name")) from None
        if accounts.get_user(name) is not None:
            raise AccountError(t("auth.users.exists", name=name))
        add_account(accounts, name, password, Role(role))
        return t("auth.users.added", name=name, role=t(f"auth.role.{role}"))
    if name == actor and (verb == "remove" or role != Role.ADMIN.value):
        raise AccountError(t("auth.users.not_yourself"))
    if verb == "role":
        done = accounts.set_role(name, Role(role).value)
        message = t("auth.users.role_set", name=name, role=t(f"auth.role.{role}"))
    elif verb == "password":
        done = accounts.set_password(name, hash_password(password))
        message = t("auth.users.password_set", name=name)
    else:
        done = accounts.remove_user(name)
        message = t("auth.users.removed", name=name)
    if not done:
        raise AccountError(t("auth.users.no_such_user", name=name))
    return message


def register(app: dash.Dash, context: DeskContext) -> None:
    """The form's one callback."""
    accounts = _accounts(context)

    @app.callback(
        Output("users-feedback", "children"),
        Output("users-feedback", "className"),
        Output("users-table", "children"),
        Output("users-password", "value"),
        Input("users-add", "n_clicks"),
        Input("users-set-role", "n_clicks"),
        Input("users-set-password", "n_clicks"),
        Input("users-remove", "n_clicks"),
        State("users-name", "value"),
        State("users-role", "value"),
        State("users-password", "value"),
        prevent_initial_call=True,
    )
    def act(
        _add: int | None,
        _role: int | None,
        _password: int | None,
        _remove: int | None,
        name: str | None,
        role: str | None,
        password: str | None,
    ) -> tuple[Any, ...]:
        # Checked here, on the server, whatever the page showed or sent.
        admin = require_role(Role.ADMIN)
        verb = _BUTTONS.get(str(ctx.triggered_id), "")
        if not verb:
            raise PreventUpdate
        name = (name or "").strip()
        try:
            message = _act(
                accounts, admin.name, verb, name, role or "viewer", password or ""
            )
        except (AccountError, ValueError) as exc:
            log.warning("account %r: %s by %s refused: %s", name, verb, admin.name, exc)
            return str(exc), "users-feedback error", dash.no_update, ""
        except PantaulautError as exc:
            log.warning("account %r: %s by %s failed: %s", name, verb, admin.name, exc)
            failed = t("auth.users.failed", reason=str(exc))
            return failed, "users-feedback error", dash.no_update, ""
        log.info("account %r: %s by %s", name, verb, admin.name)
        return message, "users-feedback ok", account_rows(accounts.list_users()), ""


PAGE = Page(
    path="/users",
    title_key="auth.users.title",
    layout=layout,
    register=register,
    nav=False,
)
