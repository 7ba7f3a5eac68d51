import type { k8s } from 'cdk8s-plus-27';
import type { Image } from '../../config/index.js';
import { IMAGES, IMAGE_UIDS } from '../../config/index.js';
import { containerSecurityContext, httpProbe, resourceRequirements } from './security.js';

/** The reloader's own HTTP port (its metrics); pods reach it only through the kubelet's probes. */
export const CONFIG_RELOADER_PORT = 9533;

/** A mounted ConfigMap or Secret volume whose changes trigger a reload. */
export interface WatchedVolume {
  /** The pod's volume name. */
  readonly volume: string;
  /** Where the program reads it: the volume's root, where the kubelet swaps the `..data` link. */
  readonly mountPath: string;
}

export interface ConfigReloaderProps {
  /** Where the program reloads, in the pod: `http://127.0.0.1:<port>/-/reload`. */
  readonly reloadUrl: string;
  /** The volumes to watch, mounted read-only at the same paths as in the program's container. */
  readonly watch: readonly WatchedVolume[];
  /** @default IMAGES.configReloader */
  readonly image?: Image;
}

/**
 * A configmap-reload sidecar: it watches each volume's directory and, when
 * the kubelet swaps in new content (a `..data` link created), sends a POST to
 * `reloadUrl`, so a change of configuration or rules reaches the running
 * program without rolling the pod. Only whole-volume mounts are updated by
 * the kubelet; subPath mounts never are.
 */
export function configReloaderContainer(props: ConfigReloaderProps): k8s.Container {
  if (props.watch.length === 0) throw new Error('config reloader: watch must list at least one volume');
  const url = new URL(props.reloadUrl);
  // The reload endpoint is the program's own; the sidecar must not send it out of the pod.
  if (url.hostname !== '127.0.0.1') throw new Error(`config reloader: reloadUrl must point at 127.0.0.1 in the pod, got "${props.reloadUrl}"`);
  const image = props.image ?? IMAGES.configReloader;
  const uid = IMAGE_UIDS.configReloader;
  return {
    name: 'config-reloader',
    image: `${image.repository}:${image.tag}`,
    args: [
      ...props.watch.map((w) => `--volume-dir=${w.mountPath}`),
      `--webhook-url=${props.reloadUrl}`,
      '--webhook-method=POST',
      '--webhook-status-code=200',
      `--web.listen-address=:${CONFIG_RELOADER_PORT}`,
    ],
    ports: [{ name: 'reloader', containerPort: CONFIG_RELOADER_PORT }],
    resources: resourceRequirements({ requests: { cpu: '5m', memory: '16Mi' }, limits: { cpu: '50m', memory: '32Mi' } }),
    securityContext: containerSecurityContext(uid),
    // It has no health endpoint of its own; its metrics page answers as long as the process runs.
    livenessProbe: httpProbe('/metrics', 'reloader', { initialDelaySeconds: 5, periodSeconds: 30 }),
    readinessProbe: httpProbe('/metrics', 'reloader', { initialDelaySeconds: 2, periodSeconds: 30 }),
    volumeMounts: props.watch.map((w) => ({ name: w.volume, mountPath: w.mountPath, readOnly: true })),
  };
}
