"""IP addresses reduced to their network: what may leave the lakehouse's raw layers.

An IP address can re-identify a person, so gold tables, reports and logs show only its network
(IPv4 /24, IPv6 /48). The reduction uses Python's `ipaddress`, a real parser: the regular
expressions it replaces turned "1.2.3.4:80" into "1.2.3.4:80:0::/48", a whole address in gold.
It runs as a vectorised pandas UDF because Spark has no built-in IP parser, and only over small,
bounded columns (a ring lead's evidence), never over a raw table. A value that is not an IP
address becomes null, never itself.
"""

from __future__ import annotations

import ipaddress

import pandas as pd
from pyspark.sql import Column
from pyspark.sql.functions import pandas_udf
from pyspark.sql.types import StringType

PREFIX_LENGTH = {4: 24, 6: 48}


def network_prefix(value: str | None) -> str | None:
    """ "81.2.69.142" -> "81.2.69.0/24"; "2001:db8::1" -> "2001:db8::/48"; an IPv4-mapped IPv6
    address ("::ffff:81.2.69.142") is the IPv4 address it carries; a zone id ("fe80::1%eth0")
    is dropped; anything else (a port, a name, garbage) -> None."""
    if value is None:
        return None
    try:
        address = ipaddress.ip_address(value.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    network = ipaddress.ip_network(f"{address}/{PREFIX_LENGTH[address.version]}", strict=False)
    return str(network)


@pandas_udf(StringType())  # type: ignore[call-overload]  # a type object: no session at import
def _prefixes(values: pd.Series) -> pd.Series:
    return values.map(network_prefix, na_action="ignore")


def ip_prefix(ip: Column) -> Column:
    """`network_prefix` of every value of a column (a vectorised pandas UDF: see the module)."""
    return _prefixes(ip)
