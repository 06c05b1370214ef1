"""Shared by the oslo.config compat scripts: strongroom's option types -> oslo.config Opt classes."""

from oslo_config import cfg

OPT_CLASSES = {
    "string": cfg.StrOpt,
    "integer": cfg.IntOpt,
    "float": cfg.FloatOpt,
    "port": cfg.PortOpt,
    "boolean": cfg.BoolOpt,
    "list": cfg.ListOpt,
    "dict": cfg.DictOpt,
    "ip": cfg.IPOpt,
    "hostname": cfg.HostnameOpt,
    "host_address": cfg.HostAddressOpt,
    "uri": cfg.URIOpt,
    "multi_string": cfg.MultiStrOpt,
}
