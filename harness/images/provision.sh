#!/bin/sh
# Runs inside a freshly debootstrapped root (via chroot): installs one PostgreSQL
# major from the suite's own packages and strips what a throwaway server never needs.
# Usage: provision.sh MAJOR
set -eu
major=$1
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

# Nothing may start services inside the chroot, and no cluster may be created:
# the entrypoint runs initdb on the container's (tmpfs) data directory instead.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
mkdir -p /etc/postgresql-common
echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf

cat >/etc/dpkg/dpkg.cfg.d/01-slim <<'EOF'
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/locale/*
EOF
# Check-Valid-Until: air-gapped hosts' mirrors are often snapshots older than the
# week a testing suite's Release file stays valid; signatures are still checked.
cat >/etc/apt/apt.conf.d/01-slim <<'EOF'
Acquire::Check-Valid-Until "false";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Dpkg::Options { "--force-confold"; "--force-unsafe-io"; };
EOF

apt-get update -qq
apt-get install -y -qq "postgresql-$major" locales

# Same default locale as the official images, so collations compare equal.
localedef -i en_US -c -f UTF-8 en_US.UTF-8

# What a throwaway server never runs: JIT (all of LLVM; without it jit is silently
# unavailable) and perl (only postgresql-common's wrappers use it; PATH puts the real
# binaries first). dpkg is left with unmet dependencies, which no one will see.
for pkg in $(dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' \
        'libllvm*' 'libz3-*' "postgresql-$major-jit" perl 'perl-modules-*' 'libperl5*' 2>/dev/null |
        awk '$1 == "ii" { print $2 }'); do
    dpkg --purge --force-depends "$pkg"
done
rm -rf /usr/lib/postgresql/"$major"/lib/llvmjit* /usr/lib/postgresql/"$major"/lib/bitcode \
    /usr/share/i18n

rm -rf /etc/postgresql/"$major" /var/lib/postgresql/"$major"
install -d -o postgres -g postgres -m 3777 /var/run/postgresql
install -d -o postgres -g postgres -m 0755 /var/lib/postgresql

apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/* \
    /usr/share/doc/* /usr/share/man/* /usr/share/info/* /usr/share/lintian/* \
    /usr/sbin/policy-rc.d /etc/resolv.conf /etc/hostname /tmp/* /root/.bash_history
rm -rf /usr/share/locale/*

"/usr/lib/postgresql/$major/bin/postgres" --version
