"""The names under which chaosrun hands the resolved target to activities.

They never collide with an experiment's own keys: an experiment's `configuration` reaches its
activities untouched, and chaosrun adds only these `chaosrun_`-prefixed keys (validation refuses
an experiment that defines one itself). Templates in experiments read them as
`${chaosrun_service_url}` and `${chaosrun_toxiproxy_url}`; chaosrun's own probes and faults read
the same keys, or the environment variables below when run outside chaosrun (`chaos run`).
"""

from __future__ import annotations

__all__ = [
    "RESERVED_PREFIX",
    "SERVICE_URL_ENV",
    "SERVICE_URL_KEY",
    "TOXIPROXY_REGIONS_ENV",
    "TOXIPROXY_REGIONS_KEY",
    "TOXIPROXY_URL_ENV",
    "TOXIPROXY_URL_KEY",
    "regions_value",
]

RESERVED_PREFIX = "chaosrun_"
SERVICE_URL_KEY = "chaosrun_service_url"
TOXIPROXY_URL_KEY = "chaosrun_toxiproxy_url"
SERVICE_URL_ENV = "CHAOSRUN_SERVICE_URL"
TOXIPROXY_URL_ENV = "CHAOSRUN_TOXIPROXY_URL"
# Every region's Toxiproxy of a multi-region target, as "a=URL,b=URL" (a region outage).
TOXIPROXY_REGIONS_KEY = "chaosrun_toxiproxy_regions"
TOXIPROXY_REGIONS_ENV = "CHAOSRUN_TOXIPROXY_REGIONS"


def regions_value(regions: dict[str, str]) -> str:
    return ",".join(f"{name}={url}" for name, url in regions.items())
