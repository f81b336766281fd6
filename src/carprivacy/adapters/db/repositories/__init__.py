"""SQL repositories, one module per concept, behind the ports of services/."""
