#!/bin/sh
# Runs inside the image root (a chroot on the no-Docker path, a RUN step in the Dockerfile).
set -eu
chmod 0440 /etc/sudoers.d/vmctl
id vmctl >/dev/null 2>&1 || useradd --create-home --uid 1000 --shell /bin/bash --comment "vmctl user" vmctl
mkdir -p /data /home/vmctl/.ssh /etc/vmctl/seed
# The mount point: writable by vmctl when no data volume is attached (a data volume's own root
# directory decides once it is mounted; vmctl-data-owner fixes volumes formatted as root's).
chown vmctl:vmctl /data /home/vmctl/.ssh
chmod 700 /home/vmctl/.ssh
systemctl enable vmctl-agent.service vmctl-vsock.service vmctl-hostkey-fallback.service \
  vmctl-data-owner.service vmctl-growroot.service vmctl-growdata.service ssh.service \
  vmctl-ready.service
# Nothing in the background competing with the user at boot (one emulated vCPU runs every unit,
# so even units off sshd's path slow it; docs/guest-agent.md "Boot"): e2scrub_reap only deletes
# leftover e2scrub snapshots of LVM volumes, which a VM has none of (10.5 s emulated); debugfs,
# tracefs, configfs, hugetlbfs and fusectl mounts are for debugging or for software that mounts
# them itself; modprobe@ of drm (no display), efi_pstore (no EFI), dm_mod (no device-mapper in a
# VM's disks), configfs (its mount is masked): modules still load on demand.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
  fstrim.timer systemd-networkd-wait-online.service \
  sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount dev-hugepages.mount \
  sys-fs-fuse-connections.mount modprobe@drm.service modprobe@efi_pstore.service \
  modprobe@dm_mod.service modprobe@configfs.service; do
  systemctl mask "$unit" >/dev/null 2>&1 || true
done
# Stamps of an updated /etc and /var (systemd-update-done writes them after a first boot): without
# them every new VM's first boot runs sysusers, ldconfig, hwdb and catalog updates the image
# already has (ConditionNeedsUpdate). build-image.sh gives them /usr's timestamp.
touch /etc/.updated /var/.updated
# Generators run before systemd starts any unit (one process each, ~0.2 s emulated): none of these
# has anything to find in a VM: no encrypted, integrity or verity disks, no GPT (the disks are
# whole-disk ext4), no hibernation, no offline updates, no SysV-only init scripts.
mkdir -p /etc/systemd/system-generators
# Nor these: no /etc/rc.local, no systemd.run= or debug options on the kernel command line (the
# node daemon writes it), and the one console getty is enabled below instead of generated.
# systemd-fstab-generator stays: /etc/fstab carries /data.
for g in systemd-cryptsetup-generator systemd-integritysetup-generator \
  systemd-veritysetup-generator systemd-gpt-auto-generator systemd-hibernate-resume-generator \
  systemd-system-update-generator systemd-sysv-generator systemd-rc-local-generator \
  systemd-run-generator systemd-debug-generator systemd-getty-generator; do
  ln -sf /dev/null "/etc/systemd/system-generators/$g"
done
# A login prompt on the serial console (what the node daemon records, and what a console attaches
# to); no getty on tty1-6: a VM has no display.
systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1
rm -f /etc/systemd/system/getty.target.wants/getty@tty1.service
systemctl mask getty-static.service >/dev/null 2>&1 || true
# sshd starts before the boot is over (ssh.service.d/vmctl.conf); a /run/nologin made at boot would
# refuse the vmctl user until systemd-user-sessions removes it, seconds later.
ln -sf /dev/null /etc/tmpfiles.d/systemd-nologin.conf
# Every SSH session used to run update-motd.d (a shell and `uname` per login, ~0.3 s on an emulated
# vCPU) for a line the static /etc/motd already carries; interactive logins still print /etc/motd.
sed -i '/pam_motd.so *motd=\/run\/motd.dynamic/d' /etc/pam.d/sshd
rm -f /etc/update-motd.d/10-uname
# Each VM gets its own identity: the host key from the node daemon (written into /etc/ssh before
# the first boot), the machine id at first boot.
rm -f /etc/ssh/ssh_host_*
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
echo vmctl >/etc/hostname
# Keep it small.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/* /usr/share/man/* /usr/share/info/* \
  /var/log/*.log /var/cache/debconf/*-old
