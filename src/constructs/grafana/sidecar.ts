import { k8s } from 'cdk8s-plus-27';
import type { Image, SecretRef } from '../../config/index.js';
import { IMAGES, IMAGE_UIDS } from '../../config/index.js';
import { containerSecurityContext, httpProbe, resourceRequirements } from '../common/security.js';

/** Where the kubelet would mount a ServiceAccount token; the sidecar's Kubernetes client reads token, ca.crt and namespace there. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The pod volume that carries the sidecars' ServiceAccount token; Grafana's own container does not mount it. */
export const API_TOKEN_VOLUME = 'kube-api-access';
/** A writable /tmp for the sidecars (Python's multiprocessing needs one under a read-only root filesystem). */
export const SIDECAR_TMP_VOLUME = 'sidecar-tmp';

/** What one k8s-sidecar copies: ConfigMaps with `label: "true"` in `namespace`, into `folder`. */
export interface ProvisioningSidecarProps {
  /** Container name. */
  readonly name: string;
  /** The label a ConfigMap carries, with the value "true", to be copied. */
  readonly label: string;
  /** The namespace whose ConfigMaps are watched: the stack's own. */
  readonly namespace: string;
  /** The pod volume (an emptyDir shared with Grafana) the files are written to. */
  readonly volume: string;
  /** Where that volume is mounted, in this container and in Grafana's. */
  readonly folder: string;
  /** The annotation whose value (a path relative to `folder`) places a ConfigMap's files in a subfolder. @default - all files in `folder` */
  readonly folderAnnotation?: string;
  /**
   * Grafana's endpoint to POST to after files changed, with the admin
   * credentials (basic auth) from their Secret. @default - no request
   */
  readonly reload?: { readonly url: string; readonly user: SecretRef; readonly password: SecretRef };
  /** `WATCH` runs alongside Grafana and follows changes; `LIST` copies once and exits (an init container). */
  readonly method: 'WATCH' | 'LIST';
  /** Port of its /healthz; the sidecars share the pod's network, so each needs its own. */
  readonly healthPort: number;
  /** Name of that port (at most 15 characters), which the probes use. */
  readonly healthPortName: string;
  /** @default IMAGES.k8sSidecar */
  readonly image?: Image;
}

/**
 * A kiwigrid k8s-sidecar container: it lists (and with `WATCH` keeps
 * watching) the labelled ConfigMaps of the namespace and writes their keys as
 * files into a folder Grafana reads, removing the files of a ConfigMap that
 * is deleted. The ConfigMaps are found through the API, so adding or removing
 * one changes nothing in the pod template.
 */
export function provisioningSidecar(props: ProvisioningSidecarProps): k8s.Container {
  if (props.reload) {
    const url = new URL(props.reload.url);
    // The admin credentials go with the request: it must stay inside the pod.
    if (url.hostname !== '127.0.0.1') throw new Error(`grafana sidecar ${props.name}: reload url must point at 127.0.0.1 in the pod, got "${props.reload.url}"`);
  }
  const image = props.image ?? IMAGES.k8sSidecar;
  const env: k8s.EnvVar[] = [
    { name: 'METHOD', value: props.method },
    { name: 'LABEL', value: props.label },
    { name: 'LABEL_VALUE', value: 'true' },
    { name: 'RESOURCE', value: 'configmap' },
    { name: 'NAMESPACE', value: props.namespace },
    { name: 'FOLDER', value: props.folder },
    ...(props.folderAnnotation ? [{ name: 'FOLDER_ANNOTATION', value: props.folderAnnotation }] : []),
    { name: 'HEALTH_PORT', value: String(props.healthPort) },
    { name: 'LOG_FORMAT', value: 'JSON' },
    ...(props.reload
      ? [
          { name: 'REQ_URL', value: props.reload.url },
          { name: 'REQ_METHOD', value: 'POST' },
          // Grafana reads basic-auth credentials as UTF-8; the sidecar's default is latin1.
          { name: 'REQ_BASIC_AUTH_ENCODING', value: 'utf-8' },
          // Files already there at start were read by Grafana as it started (the init container wrote them).
          ...(props.method === 'WATCH' ? [{ name: 'REQ_SKIP_INIT', value: 'true' }] : []),
          { name: 'REQ_USERNAME', valueFrom: { secretKeyRef: { name: props.reload.user.secretName, key: props.reload.user.key } } },
          { name: 'REQ_PASSWORD', valueFrom: { secretKeyRef: { name: props.reload.password.secretName, key: props.reload.password.key } } },
        ]
      : []),
  ];
  const watching = props.method === 'WATCH';
  return {
    name: props.name,
    image: `${image.repository}:${image.tag}`,
    env,
    ...(watching ? { ports: [{ name: props.healthPortName, containerPort: props.healthPort }] } : {}),
    resources: resourceRequirements({ requests: { cpu: '10m', memory: '64Mi' }, limits: { cpu: '200m', memory: '256Mi' } }),
    securityContext: containerSecurityContext(IMAGE_UIDS.k8sSidecar),
    ...(watching
      ? {
          // /healthz fails when the API has not answered for 60 s or the watcher died: a restart resyncs the folder.
          livenessProbe: httpProbe('/healthz', props.healthPortName, { initialDelaySeconds: 30, periodSeconds: 20 }),
          // Readiness asks only that the process listens: a short API outage must not take Grafana out of its Service.
          readinessProbe: {
            tcpSocket: { port: k8s.IntOrString.fromString(props.healthPortName) },
            initialDelaySeconds: 5,
            periodSeconds: 15,
            timeoutSeconds: 5,
            failureThreshold: 4,
          },
        }
      : {}),
    volumeMounts: [
      { name: props.volume, mountPath: props.folder },
      { name: SIDECAR_TMP_VOLUME, mountPath: '/tmp' },
      { name: API_TOKEN_VOLUME, mountPath: SERVICE_ACCOUNT_DIR, readOnly: true },
    ],
  };
}

/**
 * The ServiceAccount token as a projected volume, as the kubelet would mount
 * it (short-lived token, the cluster CA, the namespace), so that only the
 * containers that call the API mount it while the pod sets
 * automountServiceAccountToken: false.
 */
export function apiTokenVolume(): k8s.Volume {
  return {
    name: API_TOKEN_VOLUME,
    projected: {
      sources: [
        { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardApi: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}
