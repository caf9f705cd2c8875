import type { RenderInput } from './types.js';

/**
 * Completion reports rendered into the configs of OSes that run no rackboot agent: a oneshot
 * systemd unit (Ignition / Butane) or a unit started from cloud-init's runcmd, which POSTs the
 * boot's report to rackboot's /api/v1/report with the boot's report token. The URL and the token
 * come from the kernel command line of a rackboot network boot (`rackboot.report=`,
 * `rackboot.token=`) or, for cloud-init on an installed disk, from the files the image copied
 * from its installer's state block (INSTALLED_STATE_DIR), never from the config: the config stays token-free, so one stored version
 * serves every boot and its digest means the same bytes everywhere.
 */

/**
 * What rackboot served for the boot a config is rendered for (SHA-256 hex): the kernel and
 * initrds of the boot script and, when the profile installs one, the install image. Baked into
 * the report program, which sends it back as the booted image: as the config is rendered per
 * boot, a new kernel, initrd or image is a new config version, whose digest the node measures.
 */
export interface ServedImage {
  kernel: string | null;
  initrds: string[];
  install: string | null;
}

/** The served image of a render input; null when it names none (profile checks, tests). */
export function servedImageOf(input: Pick<RenderInput, 'bootImage' | 'installImage'>): ServedImage | null {
  const boot = input.bootImage ?? null;
  const install = input.installImage?.sha256 ?? null;
  if (!boot && !install) return null;
  return { kernel: boot?.kernel ?? null, initrds: boot?.initrds ?? [], install };
}

/** JSON of facts.bootedImage.served (digests with their algorithm), shell- and Python-safe (hex only). */
function servedJson(img: ServedImage | null): string {
  if (!img) return '{}';
  const d = (hex: string) => `sha256:${hex}`;
  return JSON.stringify({ ...(img.kernel ? { kernel: d(img.kernel) } : {}), initrds: img.initrds.map(d), ...(img.install ? { install: d(img.install) } : {}) });
}

/** Name of the rendered unit. */
export const REPORT_UNIT = 'rackboot-report.service';
/** Where the rendered report program is written (on /var: /usr is read-only on Flatcar and FCOS). */
export const REPORT_PROGRAM = '/var/lib/rackboot/report';

/** Where Ignition records the units a config enabled (Flatcar, FCOS, RHCOS and ignitionos alike). */
export const IGNITION_PRESET_FILE = '/etc/systemd/system-preset/20-ignition.preset';
/** How long the Ignition report waits for the config's units to finish starting. */
export const UNIT_SETTLE_SECONDS = 300;

/**
 * POSIX sh + curl (both on Flatcar, FCOS and RHCOS). The config digest is the SHA-512 Ignition
 * logged for the config bytes it parsed ("parsing config with SHA512: <hex>", in the initramfs
 * journal that systemd carries over); rackboot compares it with the SHA-512 of the version it
 * served. Before reporting it waits (at most UNIT_SETTLE_SECONDS) until no unit the config
 * enabled is starting; any of them failed makes the report `failed` with systemd's result and
 * the unit's last log lines. `imageDigest` is the install image rackboot rendered in (served, not
 * measured). Retried with backoff; a 4xx answer (bad or expired token) exits 2, not retried.
 */
export function ignitionReportProgram(img: ServedImage | null = null): string {
  const image = img?.install ? `,\\"imageDigest\\":\\"sha256:${img.install}\\"` : '';
  return `#!/bin/sh
# rackboot completion report, rendered into this config by rackboot: no rackboot agent runs here.
set -u
arg() { for a in $(cat /proc/cmdline); do case "$a" in "$1"=*) printf '%s\\n' "\${a#*=}"; return 0 ;; esac; done; return 1; }
clean() { printf '%s' "$1" | tr '\\n\\t' '  ' | tr -d '"\\\\\\000-\\037' | cut -c1-"\${2:-200}"; }
url=$(arg rackboot.report) && token=$(arg rackboot.token) || { echo "rackboot-report: no rackboot.report/rackboot.token on the kernel command line" >&2; exit 0; }
# What rackboot's boot script served for this boot (rendered into the config).
served='${servedJson(img)}'
units=$(sed -n 's/^enable //p' ${IGNITION_PRESET_FILE} 2>/dev/null | grep -vx '${REPORT_UNIT}' | tr '\\n' ' ')
state() { systemctl show -p ActiveState --value "$1" 2>/dev/null; }
starting() {
  jobs=$(systemctl list-jobs --no-legend --no-pager 2>/dev/null)
  for u in $units; do
    case "$(state "$u")" in activating|deactivating|reloading) echo "$u"; continue ;; esac
    printf '%s\\n' "$jobs" | grep -qF " $u " && echo "$u"
  done
}
waited=0
while [ -n "$(starting)" ] && [ "$waited" -lt ${UNIT_SETTLE_SECONDS} ]; do sleep 2; waited=$((waited + 2)); done
phase=ready; msg="ignition config applied"; failed=""
for u in $units; do [ "$(state "$u")" = failed ] && failed="$failed $u"; done
if [ -n "$failed" ]; then
  phase=failed; msg="units of the config failed:"
  for u in $failed; do
    logs=$(journalctl -b -u "$u" -o cat -n 3 --no-pager 2>/dev/null | tr '\\n' '|')
    msg="$msg $u (result $(systemctl show -p Result --value "$u" 2>/dev/null), exit status $(systemctl show -p ExecMainStatus --value "$u" 2>/dev/null); log: $logs);"
  done
else
  still=$(starting | tr '\\n' ' ')
  [ -n "$still" ] && { phase=failed; msg="units of the config still starting after ${UNIT_SETTLE_SECONDS} s: $still"; }
fi
sha=$(journalctl -b -o cat 2>/dev/null | sed -n 's/.*parsing config with SHA512: \\([0-9a-f]\\{128\\}\\).*/\\1/p' | tail -n 1)
PRETTY_NAME=unknown; [ -r /etc/os-release ] && . /etc/os-release
kernel=$(uname -r); boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
digest=""
if [ -n "$sha" ]; then digest=",\\"configDigest\\":\\"sha512:$sha\\""; else msg="$msg; no Ignition SHA512 log line, config digest not reported"; fi
facts="\\"bootedImage\\":{\\"os\\":\\"$(clean "$PRETTY_NAME")\\",\\"kernel\\":\\"$(clean "$kernel")\\",\\"bootId\\":\\"$(clean "$boot")\\",\\"served\\":$served}"
body="{\\"phase\\":\\"$phase\\"$digest${image},\\"message\\":\\"$(clean "$msg" 1900)\\",\\"facts\\":{$facts}}"
delay=2
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 20 -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data "$body" "$url") || code=000
  case "$code" in
    2??) echo "rackboot-report: $phase reported ($url, attempt $attempt)"; exit 0 ;;
    4??) echo "rackboot-report: rackboot refused the report with HTTP $code" >&2; exit 2 ;;
  esac
  echo "rackboot-report: attempt $attempt failed (HTTP $code), retrying in $delay s" >&2
  sleep "$delay"; delay=$((delay * 2)); [ "$delay" -gt 60 ] && delay=60
done
exit 1
`;
}

/**
 * Where an installed image puts the report URL and token its installer wrote to disk (files
 * `report` and `token`, from the state block: boot-assets/image/README.md), for boots from disk,
 * whose kernel command line has none.
 */
export const INSTALLED_STATE_DIR = '/var/lib/rackboot/state';

/**
 * Python 3 (cloud-init is a Python program, so it is always there). Reads cloud-init's own
 * result (/run/cloud-init/result.json, written at the end of cloud-final): errors make the
 * report `failed` with them as the message; the config digest is the SHA-256 of the user-data
 * bytes cloud-init received (/var/lib/cloud/instance/user-data.txt), the config version's digest.
 * The booted image is what rackboot served, rendered in (as for Ignition).
 */
export function cloudInitReportProgram(img: ServedImage | null = null): string {
  return `#!/usr/bin/python3
"""rackboot completion report, rendered into this user-data by rackboot: no rackboot agent runs here."""
import hashlib, json, os, sys, time, urllib.error, urllib.request


def arg(name):
    with open('/proc/cmdline') as f:
        for a in f.read().split():
            if a.startswith(name + '='):
                return a[len(name) + 1:]
    return None


def os_name():
    try:
        with open('/etc/os-release') as f:
            for line in f:
                if line.startswith('PRETTY_NAME='):
                    return line.split('=', 1)[1].strip().strip('"')
    except OSError:
        pass
    return 'unknown'


def installed(name):
    try:
        with open('${INSTALLED_STATE_DIR}/' + name) as f:
            return f.read().strip() or None
    except OSError:
        return None


# A network boot's kernel command line; else, booted from disk, what the installer wrote there.
url, token = arg('rackboot.report'), arg('rackboot.token')
if not url or not token:
    url, token = installed('report'), installed('token')
if not url or not token:
    print('rackboot-report: no rackboot.report/rackboot.token on the kernel command line nor in ${INSTALLED_STATE_DIR}', file=sys.stderr)
    sys.exit(0)
with open('/proc/sys/kernel/random/boot_id') as f:
    boot_id = f.read().strip()
# What rackboot's boot script served for this boot (rendered into the user-data).
served = json.loads('${servedJson(img)}')
report = {'phase': 'ready', 'facts': {'bootedImage': {'os': os_name(), 'kernel': os.uname().release, 'bootId': boot_id, 'served': served}}}
if 'install' in served:
    report['imageDigest'] = served['install']
try:
    with open('/var/lib/cloud/instance/user-data.txt', 'rb') as f:
        report['configDigest'] = 'sha256:' + hashlib.sha256(f.read()).hexdigest()
except OSError as e:
    report['facts']['userDataError'] = str(e)
try:
    with open('/run/cloud-init/result.json') as f:
        result = json.load(f)['v1']
    errors = [str(e) for e in result.get('errors') or []]
    report['facts']['cloudInit'] = {'datasource': result.get('datasource'), 'errors': errors}
except (OSError, ValueError, KeyError) as e:
    errors = ['cannot read /run/cloud-init/result.json: %s' % e]
if errors:
    report['phase'] = 'failed'
    report['message'] = ('cloud-init: ' + '; '.join(errors))[:2000]
else:
    report['message'] = 'cloud-init finished'
body = json.dumps(report).encode()
delay = 2
for attempt in range(1, 11):
    req = urllib.request.Request(url, data=body, method='POST', headers={'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            print('rackboot-report: %s reported (HTTP %d, attempt %d)' % (report['phase'], r.status, attempt))
            sys.exit(0)
    except urllib.error.HTTPError as e:
        if 400 <= e.code < 500:
            print('rackboot-report: rackboot refused the report with HTTP %d' % e.code, file=sys.stderr)
            sys.exit(2)
        why = 'HTTP %d' % e.code
    except OSError as e:
        why = str(e)
    print('rackboot-report: attempt %d failed (%s), retrying in %d s' % (attempt, why, delay), file=sys.stderr)
    time.sleep(delay)
    delay = min(delay * 2, 60)
sys.exit(1)
`;
}

/**
 * The oneshot unit. Restart=on-failure (systemd ≥ 244 allows it for oneshot) covers outages
 * longer than the program's own retries; exit 2 (refused) is final. Runs only on boots whose
 * kernel command line carries a report token, i.e. rackboot network boots, or, given `tokenFile`,
 * where that file exists (an installed image booted from disk).
 */
export function reportUnit(opts: { after: string[]; execStart: string; description: string; tokenFile?: string }): string {
  // Either condition ('|': triggering conditions, any one suffices) when the token may also be on disk.
  const condition = opts.tokenFile ? `ConditionKernelCommandLine=|rackboot.token\nConditionPathExists=|${opts.tokenFile}` : 'ConditionKernelCommandLine=rackboot.token';
  return `[Unit]
Description=${opts.description}
Wants=network-online.target
After=${['network-online.target', ...opts.after].join(' ')}
${condition}
StartLimitIntervalSec=0

[Service]
Type=oneshot
ExecStart=${opts.execStart}
Restart=on-failure
RestartSec=30
RestartPreventExitStatus=2

[Install]
WantedBy=multi-user.target
`;
}

/** The unit Ignition configs get: enabled, runs once network is online. */
export const IGNITION_REPORT_UNIT = reportUnit({
  after: [],
  execStart: `/bin/sh ${REPORT_PROGRAM}`,
  description: 'rackboot completion report (rendered by rackboot into the Ignition config)',
});

/**
 * The unit cloud-init user-data gets: started from runcmd, ordered after cloud-final so cloud-init's
 * result exists; also on boots from an installed disk, where the token is in INSTALLED_STATE_DIR.
 */
export const CLOUDINIT_REPORT_UNIT = reportUnit({
  after: ['cloud-final.service'],
  execStart: `/usr/bin/python3 ${REPORT_PROGRAM}`,
  description: 'rackboot completion report (rendered by rackboot into cloud-init user-data)',
  tokenFile: `${INSTALLED_STATE_DIR}/token`,
});
