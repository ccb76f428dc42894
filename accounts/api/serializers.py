from __future__ import annotations

from rest_framework import serializers

from accounts.models import Account, ApiKey
from accounts.selectors import account_rate_limit, rate_limit_for
from contract.serializers import StrictInput, Timestamp


class AccountOutput(serializers.Serializer):
    id = serializers.CharField(help_text="`acct_…`")
    name = serializers.CharField()
    active = serializers.BooleanField(source="is_active")
    rate_limit = serializers.SerializerMethodField(
        help_text="API requests per minute allowed per key of this account."
    )
    created_at = Timestamp()

    def get_rate_limit(self, account: Account) -> int:
        return account_rate_limit(account=account)


class ApiKeyOutput(serializers.Serializer):
    id = serializers.CharField(help_text="`key_…`")
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The first characters of the key, for display.")
    rate_limit = serializers.SerializerMethodField(help_text="Requests per minute for this key.")
    created_at = Timestamp()
    last_used_at = Timestamp(allow_null=True, help_text="Accurate to a minute.")
    revoked_at = Timestamp(allow_null=True)

    def get_rate_limit(self, api_key: ApiKey) -> int:
        return rate_limit_for(api_key=api_key)


class ApiKeyCreatedOutput(ApiKeyOutput):
    secret = serializers.CharField(
        allow_null=True,
        help_text="The key itself. Shown once: store it now. `null` when this response is an "
        "idempotent replay (`Idempotent-Replayed: true`): a secret is never stored.",
    )


class ApiKeyCreateInput(StrictInput):
    name = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
