import { k8s } from 'cdk8s-plus-27';
import type { Image, Resources } from '../../config/index.js';
import { containerSecurityContext, podSecurityContext, resourceRequirements } from '../common/security.js';

/** Where the scripts and request bodies of a tool pod are mounted. */
export const SCRIPT_DIR = '/setup';

const TOOL_RESOURCES: Resources = { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } };

export interface ToolPodProps {
  /** The Elasticsearch image: it has bash and curl, and is already pulled on the nodes. */
  readonly image: Image;
  readonly uid: number;
  readonly labels: Record<string, string>;
  /** ConfigMap holding `run.sh` and the JSON bodies it sends. */
  readonly configMap: string;
  readonly env: readonly k8s.EnvVar[];
}

/**
 * A pod that runs `run.sh` from a ConfigMap with the Elasticsearch image,
 * for the setup Jobs and the trace index cleaner. The image's entrypoint is
 * bypassed; the scratch volume covers every path the image may write
 * (data, logs, config, /tmp) so that the root filesystem stays read-only.
 */
export function toolPodTemplate(props: ToolPodProps): k8s.PodTemplateSpec {
  const scratch = (sub: string, path: string): k8s.VolumeMount => ({ name: 'scratch', mountPath: path, subPath: sub });
  return {
    metadata: { labels: props.labels },
    spec: {
      restartPolicy: 'OnFailure',
      automountServiceAccountToken: false,
      securityContext: podSecurityContext(props.uid),
      containers: [
        {
          name: 'run',
          image: `${props.image.repository}:${props.image.tag}`,
          command: ['/bin/bash', `${SCRIPT_DIR}/run.sh`],
          env: [...props.env, { name: 'SETUP_DIR', value: SCRIPT_DIR }, { name: 'TMPDIR', value: '/tmp' }],
          resources: resourceRequirements(TOOL_RESOURCES),
          securityContext: containerSecurityContext(props.uid),
          volumeMounts: [
            { name: 'setup', mountPath: SCRIPT_DIR, readOnly: true },
            scratch('data', '/usr/share/elasticsearch/data'),
            scratch('logs', '/usr/share/elasticsearch/logs'),
            scratch('config', '/usr/share/elasticsearch/config'),
            scratch('tmp', '/tmp'),
          ],
        },
      ],
      volumes: [
        { name: 'setup', configMap: { name: props.configMap } },
        { name: 'scratch', emptyDir: { sizeLimit: k8s.Quantity.fromString('32Mi') } },
      ],
    },
  };
}

/** An environment variable read from a key of a Secret. */
export function secretEnv(name: string, ref: { readonly secretName: string; readonly key: string }): k8s.EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: ref.secretName, key: ref.key } } };
}

/**
 * Shell functions shared by the scripts: `call METHOD PATH [BODY_FILE]` with
 * the elastic user's credentials, failing on any non-2xx answer, and
 * `json_string VALUE`, which prints VALUE as a JSON string literal. Values are
 * only ever expanded inside double quotes, never evaluated.
 */
export const SHELL_LIBRARY = String.raw`set -euo pipefail
call() {
  local method="$1" path="$2" body="${'$'}{3:-}" code
  local args=(-sS -o "$TMPDIR/response" -w '%{http_code}' -X "$method" -u "$AUTH_USER:$AUTH_PASSWORD" -H 'Content-Type: application/json' -H 'kbn-xsrf: obstack')
  if [ -n "$body" ]; then args+=(--data-binary "@$body"); fi
  code="$(curl "${'$'}{args[@]}" "$BASE_URL$path")" || code=000
  if [ "${'$'}{code:0:1}" != 2 ]; then
    echo "$method $path answered $code: $(cat "$TMPDIR/response" 2>/dev/null)" >&2
    return 1
  fi
  echo "$method $path: $code"
}
json_string() {
  local s="$1"
  if [[ "$s" =~ [[:cntrl:]] ]]; then echo "refusing a value with a control character" >&2; return 1; fi
  s="${'$'}{s//\\/\\\\}"
  s="${'$'}{s//\"/\\\"}"
  printf '"%s"' "$s"
}
wait_for() {
  local path="$1" tries=0
  until curl -fsS -o /dev/null -u "$AUTH_USER:$AUTH_PASSWORD" -H 'kbn-xsrf: obstack' "$BASE_URL$path"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 120 ]; then echo "$BASE_URL$path did not answer in 10 minutes" >&2; return 1; fi
    echo "waiting for $BASE_URL$path"
    sleep 5
  done
}
`;
