"""The API's own shapes (Pydantic): what goes over the wire, never the domain's dataclasses
or the store's rows."""
