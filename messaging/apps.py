from __future__ import annotations

from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    verbose_name = "Messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Plug messaging into the device boundary (`handles.registry`)."""
        # lazy: models import only once apps are loaded; importing these modules registers
        # their job-result and device-event handlers.
        from accounts.dashboard import add_usage_many_source, add_usage_source
        from handles import registry
        from messaging import selectors
        from messaging.services import (  # noqa: F401
            actions,
            groups,
            inbound,
            line_health,
            new_contacts,
            pausing,
        )

        registry.add_queue_depth_provider(selectors.queued_counts)
        registry.add_new_contacts_provider(new_contacts.handle_usage_many)
        registry.add_queue_annotations(new_contacts.operator_annotations)
        registry.add_queue_annotations(selectors.queue_annotations)
        add_usage_source(selectors.messages_today)
        add_usage_many_source(selectors.messages_today_many)
