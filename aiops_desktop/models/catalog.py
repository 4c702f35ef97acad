"""A panel of the query catalog: one PromQL the poller records and a chart draws
(``resources/queries/*.json``)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

_LEGEND_FIELD = re.compile(r"\{(\w+)\}")


class Panel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    promql: str
    unit: str = ""
    legend: str = ""
    sparkline: bool = False
    group: str = ""

    def legend_for(self, labels: dict[str, str]) -> str:
        if not self.legend:
            inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
            return f"{{{inner}}}" if inner else self.title
        return _LEGEND_FIELD.sub(lambda m: labels.get(m.group(1), "?"), self.legend)
