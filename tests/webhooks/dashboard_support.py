"""What the webhooks dashboard tests share: URLs, forms, page text (the signed-in members
are fixtures in conftest.py)."""

from __future__ import annotations

import re

from django.urls import reverse

from webhooks import services


def url(name, account, **kwargs):
    return reverse(name, kwargs={"account_id": account.pk, **kwargs})


def endpoint_url(endpoint, name="dashboard-webhook"):
    return url(name, endpoint.account, webhook_id=endpoint.pk)


def delivery_url(delivery, name="dashboard-webhook-delivery"):
    return url(name, delivery.endpoint.account, delivery_id=delivery.pk)


def make_endpoint(account, endpoint_url="http://127.0.0.1:9/hooks", **fields):
    return services.webhook_endpoint_create(
        account=account, url=endpoint_url, events=fields.pop("events", ["*"]), **fields
    )


def form(**fields):
    return {
        "url": "https://hooks.example.com/switchboard",
        "description": "",
        "events": ["*"],
        "enabled": "on",
        **fields,
    }


def text(response):
    return response.content.decode()


def errors_of(page, field_id):
    """The messages under one field, as templates/includes/field.html lists them."""
    found = re.search(rf'<ul class="errors" id="{field_id}_error">(.*?)</ul>', page, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1)) if found else []
