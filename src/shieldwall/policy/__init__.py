"""National policy: data-sharing agreements, command authority, sovereignty caveats, rules of
engagement, and the tamper-evident audit log of every decision a rule touched."""
