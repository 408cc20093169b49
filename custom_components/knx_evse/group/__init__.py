"""Home Assistant runtime of the balancing groups: data, members, meter, actuator, grace, bridge, entities."""
