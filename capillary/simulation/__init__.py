"""The demo economy: a seeded supply-chain economy simulated through the platform's services
(``capillary demo``), and the report of what the platform did for its small firms."""
