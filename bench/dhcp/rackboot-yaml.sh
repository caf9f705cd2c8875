# Shared by bench/dhcp.sh and bench/dhcp-profile.sh: the rackboot settings both benchmarks run
# (full mode on sv0 in the server namespace, one /15 pool, leases of an hour).
# rackboot_yaml DATA_DIR [COMMIT_MS] [DURABILITY] [UNKNOWN_MACS] [POSTGRES_URL] > file   (empty arguments keep the defaults)
rackboot_yaml() {
  cat <<YAML
dataDir: $1
logLevel: info
${5:+store: { postgres: '$5' \}}
http: { host: 198.18.0.1, port: 8080 }
tftp: { enabled: false }
dhcp:
  mode: full
  interfaces: [sv0]
  serverAddress: 198.18.0.1
${2:+  commitIntervalMs: $2}
${3:+  durability: $3}
${4:+  unknownMacs: $4}
  subnets:
    - { cidr: 198.18.0.0/15, poolStart: 198.18.1.0, poolEnd: 198.19.255.250, leaseSeconds: 3600 }
YAML
}
