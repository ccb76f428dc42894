from __future__ import annotations

from django.urls import path

from bench.bare import BareInsertView
from config.urls import urlpatterns as switchboard_urls

urlpatterns = [path("bench/bare", BareInsertView.as_view()), *switchboard_urls]
