"""Who may use what. One place, used by the spawners, the gateway and the services."""
