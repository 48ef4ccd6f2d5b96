package dev.vmctl.operator.model;

/** How the scheduler picks among hosts that fit. */
public enum Strategy {
  /** The most-allocated host that fits: keeps whole hosts free for big VMs and for draining. */
  PACK,
  /** The least-allocated host: spreads load and the blast radius of a host failure. */
  SPREAD
}
