#!/bin/sh
# Runs inside the image root (a chroot on the no-Docker path, a RUN step in the Dockerfile).
set -eu
chmod 0440 /etc/sudoers.d/vmctl
id vmctl >/dev/null 2>&1 || useradd --create-home --uid 1000 --shell /bin/bash --comment "vmctl user" vmctl
mkdir -p /data /home/vmctl/.ssh
chown vmctl:vmctl /home/vmctl/.ssh
chmod 700 /home/vmctl/.ssh
systemctl enable vmctl-agent.service vmctl-vsock.service vmctl-firstboot.service ssh.service
# Nothing in the background competing with the user at boot.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
  systemd-networkd-wait-online.service; do
  systemctl mask "$unit" >/dev/null 2>&1 || true
done
# Each VM gets its own identity at first boot.
rm -f /etc/ssh/ssh_host_*
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
echo vmctl >/etc/hostname
# Keep it small.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/* /usr/share/info/* \
  /var/log/*.log /var/cache/debconf/*-old
