import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { Construct } from 'constructs';
import type { Environment, GrafanaDatasource, Image, SecretRef } from '../../config/index.js';
import { IMAGE_UIDS, clusterNamespaceOf, urlAddress } from '../../config/index.js';
import { addDisruptionBudget } from '../common/availability.js';
import { addIngress, ingressUrl } from '../common/ingress.js';
import { StackComponent } from '../common/component.js';
import { API_SERVER_FLOW, type Flow } from '../common/network.js';
import { containerSecurityContext, httpProbe, resourceRequirements } from '../common/security.js';
import { SIDECAR_TMP_VOLUME, apiTokenVolume, provisioningSidecar } from './sidecar.js';
import type { ScrapeEndpoint } from '../prometheus/scrape.js';
import type { DashboardFile } from '../../authoring/index.js';
import { yamlText } from '../../config/yaml-text.js';

export type { DashboardFile };

export type GrafanaSettings = Environment['components']['grafana'];

export interface GrafanaProps {
  readonly namespace: string;
  readonly instance: string;
  readonly settings: GrafanaSettings;
  readonly image: Image;
  /** Where in-cluster datasource URLs end (`svc.<clusterDomain>`). @default 'cluster.local' */
  readonly clusterDomain?: string;
  /** The image of the sidecars that copy dashboards and datasources from their ConfigMaps. @default IMAGES.k8sSidecar */
  readonly sidecarImage?: Image;
}

/** Something Grafana can query: it knows its URL, its datasource type, and who may reach it. */
export interface DatasourceSource {
  readonly url: string;
  readonly port: number;
  readonly selector: Record<string, string>;
  allowFrom(pods: { readonly selector: Record<string, string> }): void;
}

export interface Datasource {
  /** Stable uid: dashboards refer to datasources by uid. */
  readonly uid: string;
  readonly name: string;
  readonly type: string;
  readonly url: string;
  readonly isDefault?: boolean;
  readonly jsonData?: Record<string, unknown>;
  /** Basic-auth user; its password comes from `basicAuthPassword`, a Secret key read into Grafana's environment. */
  readonly basicAuthUser?: string;
  readonly basicAuthPassword?: SecretRef;
  /** Database user (SQL datasources); its password comes from `password`, read into Grafana's environment likewise. */
  readonly user?: string;
  readonly password?: SecretRef;
  /** Other secureJsonData fields, each from a Secret key read into Grafana's environment. */
  readonly secureJsonData?: Readonly<Record<string, SecretRef>>;
}


const PORT = 3000;
const DASHBOARDS_DIR = '/var/lib/grafana/dashboards';
const DATASOURCES_DIR = '/etc/grafana/provisioning/datasources';
/** ConfigMaps of the namespace with this label set to "true" are dashboards, copied into DASHBOARDS_DIR by a sidecar. */
export const DASHBOARD_LABEL = 'grafana.obstack.io/dashboard';
/** ConfigMaps of the namespace with this label set to "true" are datasource provisioning files, copied into DATASOURCES_DIR. */
export const DATASOURCE_LABEL = 'grafana.obstack.io/datasource';
/** A dashboard ConfigMap's folder: the subdirectory of DASHBOARDS_DIR its file goes to, which Grafana takes as the folder title. */
export const FOLDER_ANNOTATION = 'grafana.obstack.io/folder';
/** Grafana's reload of the datasource provisioning files; it needs an admin. */
const DATASOURCES_RELOAD_URL = `http://127.0.0.1:${PORT}/api/admin/provisioning/datasources/reload`;
/** Kubernetes refuses a ConfigMap over 1 MiB. */
export const CONFIGMAP_LIMIT_BYTES = 1024 * 1024;

/**
 * Grafana as a Deployment: admin credentials from a Secret, datasources
 * provisioned from the components they point at, one ConfigMap per dashboard.
 * Two k8s-sidecar containers copy the labelled dashboard and datasource
 * ConfigMaps into folders Grafana reads (dashboards are reread every 30 s,
 * datasources reloaded through Grafana's API), so neither an added, removed
 * or changed dashboard nor a datasource change touches the pod template.
 */
export class Grafana extends StackComponent {
  private readonly datasources: Datasource[] = [];
  /** Datasources the environment declares (`components.grafana.datasources`), provisioned after the stack's. */
  private readonly declaredDatasources: Datasource[] = [];
  private readonly dashboards: DashboardFile[] = [];
  /** Datasource passwords, from Secrets, for `$__env{…}` in the provisioning file. */
  private readonly secretEnv: k8s.EnvVar[] = [];

  constructor(scope: Construct, id: string, props: GrafanaProps) {
    super(scope, id, {
      name: 'grafana',
      namespace: props.namespace,
      instance: props.instance,
      version: props.image.tag,
      component: 'dashboards',
      ports: [{ port: PORT }],
    });
    const { settings } = props;
    const uid = IMAGE_UIDS.grafana;

    const sa = this.addServiceAccount();
    // The sidecars read the labelled ConfigMaps of this namespace, and nothing else.
    const role = new k8s.KubeRole(this, 'Role', {
      metadata: { name: this.name, labels: this.labels },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
    });
    new k8s.KubeRoleBinding(this, 'RoleBinding', {
      metadata: { name: this.name, labels: this.labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
      subjects: [{ kind: 'ServiceAccount', name: sa.name, namespace: props.namespace }],
    });
    for (const d of settings.datasources) this.addDeclaredDatasource(d, props.clusterDomain ?? 'cluster.local');
    new k8s.KubeConfigMap(this, 'Datasources', {
      metadata: { name: 'grafana-datasources', labels: { ...this.labels, [DATASOURCE_LABEL]: 'true' } },
      data: { 'datasources.yaml': Lazy.any({ produce: () => this.renderDatasources() }) },
    });
    new k8s.KubeConfigMap(this, 'DashboardProviders', {
      metadata: { name: 'grafana-providers', labels: this.labels },
      data: { 'dashboards.yaml': Lazy.any({ produce: () => this.renderProviders() }) },
    });
    new k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, labels: this.labels },
      spec: { type: 'ClusterIP', selector: this.selector, ports: [{ name: 'http', port: PORT, targetPort: k8s.IntOrString.fromString('http') }] },
    });

    const db = settings.database;
    const dbEnv: k8s.EnvVar[] =
      db.type === 'postgres'
        ? [
            { name: 'GF_DATABASE_TYPE', value: 'postgres' },
            { name: 'GF_DATABASE_HOST', value: db.host },
            { name: 'GF_DATABASE_NAME', value: db.name },
            { name: 'GF_DATABASE_USER', value: db.user },
            { name: 'GF_DATABASE_SSL_MODE', value: db.sslMode },
            { name: 'GF_DATABASE_PASSWORD', valueFrom: { secretKeyRef: { name: db.password.secretName, key: db.password.key } } },
          ]
        : [];
    if (db.type === 'postgres') {
      this.egress.push({ peers: [{ cidr: '0.0.0.0/0' }], ports: [{ port: Number(db.host.split(':')[1]) }] });
    }
    const dataVolume: k8s.Volume =
      settings.storage.type === 'persistent'
        ? { name: 'data', persistentVolumeClaim: { claimName: this.name } }
        : { name: 'data', emptyDir: {} };
    if (settings.storage.type === 'persistent') {
      new k8s.KubePersistentVolumeClaim(this, 'Data', {
        metadata: { name: this.name, labels: this.labels },
        spec: {
          accessModes: ['ReadWriteOnce'],
          ...(settings.storage.storageClass ? { storageClassName: settings.storage.storageClass } : {}),
          resources: { requests: { storage: k8s.Quantity.fromString(settings.storage.size) } },
        },
      });
    }

    const publicUrl = settings.externalUrl ?? ingressUrl(settings.ingress);
    const rootUrl = publicUrl === undefined ? undefined : `${publicUrl}/`;
    const sidecarBasics = { namespace: props.namespace, ...(props.sidecarImage ? { image: props.sidecarImage } : {}) };
    // Grafana rereads the dashboard folders every 30 s; it needs no request, so this sidecar holds no credentials.
    const dashboardsSidecar = {
      ...sidecarBasics,
      label: DASHBOARD_LABEL,
      volume: 'dashboards',
      folder: DASHBOARDS_DIR,
      folderAnnotation: FOLDER_ANNOTATION,
      healthPort: 8084,
      healthPortName: 'sc-dashboards',
    };
    const datasourcesCopy = {
      ...sidecarBasics,
      label: DATASOURCE_LABEL,
      volume: 'datasources',
      folder: DATASOURCES_DIR,
      healthPort: 8082,
      healthPortName: 'sc-datasources',
    };
    // Grafana reads datasources at start only; after a change the sidecar asks it to reload them, as the admin.
    const datasourcesSidecar = {
      ...datasourcesCopy,
      reload: {
        url: DATASOURCES_RELOAD_URL,
        user: { secretName: settings.admin.secretName, key: settings.admin.userKey },
        password: { secretName: settings.admin.secretName, key: settings.admin.passwordKey },
      },
    };
    new k8s.KubeDeployment(this, 'Resource', {
      metadata: { name: this.name, labels: this.labels },
      spec: {
        replicas: settings.replicas,
        selector: { matchLabels: this.selector },
        // A ReadWriteOnce volume cannot be attached to the old and the new pod at once.
        strategy: settings.storage.type === 'persistent' ? { type: 'Recreate' } : { type: 'RollingUpdate' },
        template: {
          // No checksum of datasources or dashboards: the sidecars copy their ConfigMaps in, found through the API.
          metadata: { labels: this.labels },
          spec: {
            // No token by default: the projected one is mounted into the sidecars only, never into Grafana.
            ...this.podBasics(uid, settings.replicas),
            // The first copy is complete before Grafana starts, so it reads every datasource at start and
            // finds every dashboard (it deletes provisioned dashboards whose files are missing).
            initContainers: [
              provisioningSidecar({ ...dashboardsSidecar, name: 'init-dashboards', method: 'LIST' }),
              // No reload request: Grafana is not running yet, and reads the files when it starts.
              provisioningSidecar({ ...datasourcesCopy, name: 'init-datasources', method: 'LIST' }),
            ],
            containers: [
              {
                name: 'grafana',
                image: `${props.image.repository}:${props.image.tag}`,
                ports: [{ name: 'http', containerPort: PORT }],
                env: Lazy.any({ produce: () => [
                  { name: 'GF_SECURITY_ADMIN_USER', valueFrom: { secretKeyRef: { name: settings.admin.secretName, key: settings.admin.userKey } } },
                  {
                    name: 'GF_SECURITY_ADMIN_PASSWORD',
                    valueFrom: { secretKeyRef: { name: settings.admin.secretName, key: settings.admin.passwordKey } },
                  },
                  { name: 'GF_AUTH_ANONYMOUS_ENABLED', value: 'false' },
                  { name: 'GF_USERS_ALLOW_SIGN_UP', value: 'false' },
                  { name: 'GF_ANALYTICS_REPORTING_ENABLED', value: 'false' },
                  { name: 'GF_ANALYTICS_CHECK_FOR_UPDATES', value: 'false' },
                  { name: 'GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES', value: 'false' },
                  { name: 'GF_LOG_MODE', value: 'console' },
                  { name: 'GF_PATHS_DATA', value: '/var/lib/grafana' },
                  { name: 'GF_PATHS_PROVISIONING', value: '/etc/grafana/provisioning' },
                  ...(rootUrl ? [{ name: 'GF_SERVER_ROOT_URL', value: rootUrl }] : []),
                  ...dbEnv,
                  ...this.secretEnv,
                ] }),
                resources: resourceRequirements(settings.resources),
                securityContext: containerSecurityContext(uid),
                livenessProbe: httpProbe('/api/health', 'http', { initialDelaySeconds: 30 }),
                readinessProbe: httpProbe('/api/health', 'http', { initialDelaySeconds: 5, periodSeconds: 10 }),
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/grafana' },
                  { name: 'tmp', mountPath: '/tmp' },
                  { name: 'datasources', mountPath: DATASOURCES_DIR, readOnly: true },
                  { name: 'dashboard-providers', mountPath: '/etc/grafana/provisioning/dashboards', readOnly: true },
                  { name: 'dashboards', mountPath: DASHBOARDS_DIR, readOnly: true },
                ],
              },
              provisioningSidecar({ ...dashboardsSidecar, name: 'dashboards-sidecar', method: 'WATCH' }),
              provisioningSidecar({ ...datasourcesSidecar, name: 'datasources-sidecar', method: 'WATCH' }),
            ],
            volumes: [
              dataVolume,
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
              { name: 'datasources', emptyDir: { sizeLimit: k8s.Quantity.fromString('8Mi') } },
              { name: 'dashboard-providers', configMap: { name: 'grafana-providers' } },
              { name: 'dashboards', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              { name: SIDECAR_TMP_VOLUME, emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
              apiTokenVolume(),
            ],
          },
        },
      },
    });

    if (settings.replicas > 1) addDisruptionBudget(this, this.name, this.labels, this.selector);
    if (settings.ingress.enabled) {
      const controller = addIngress(this, { name: this.name, labels: this.labels, ingress: settings.ingress, servicePort: PORT });
      this.ingress.push({ peers: [controller], ports: [{ port: PORT }] });
    }
    // The sidecars list and watch ConfigMaps.
    this.egress.push(API_SERVER_FLOW);
    this.addNetworkPolicy();
  }

  get scrapeEndpoints(): readonly ScrapeEndpoint[] {
    return [{ jobName: 'grafana', namespace: this.namespace, serviceName: this.name, portName: 'http' }];
  }

  /** Provisions a datasource that queries `source`, and opens the network path to it. */
  addDatasource(source: DatasourceSource, ds: Omit<Datasource, 'url'>): Datasource {
    const full: Datasource = { ...ds, url: source.url };
    this.register(full, this.datasources);
    source.allowFrom(this);
    this.egress.push({ peers: [{ pods: source.selector }], ports: [{ port: source.port }] });
    return full;
  }

  /**
   * Provisions a datasource the environment declares, opening egress to its
   * URL's port only: an in-cluster Service's namespace, an IP address, or the
   * address blocks the environment lists for a host outside the cluster.
   */
  private addDeclaredDatasource(d: GrafanaDatasource, clusterDomain: string): void {
    const secure: Record<string, SecretRef> = { ...(d.secureJsonData ?? {}) };
    if (d.basicAuth) secure.basicAuthPassword = d.basicAuth.password;
    this.register(
      {
        uid: d.uid,
        name: d.name,
        type: d.type,
        url: d.url,
        isDefault: d.isDefault,
        ...(d.jsonData ? { jsonData: d.jsonData } : {}),
        ...(d.basicAuth ? { basicAuthUser: d.basicAuth.user } : {}),
        ...(Object.keys(secure).length > 0 ? { secureJsonData: secure } : {}),
      },
      this.declaredDatasources,
    );
    const a = urlAddress(d.url);
    const ports = [{ port: a.port }];
    const ns = a.ip === 0 ? clusterNamespaceOf(a.host, this.namespace, clusterDomain) : undefined;
    const flow: Flow =
      a.ip !== 0
        ? { peers: [{ cidr: `${a.host}/${a.ip === 4 ? 32 : 128}` }], ports }
        : ns !== undefined
          ? { peers: [{ namespace: ns }], ports }
          : { peers: (d.egress ?? []).map((cidr) => ({ cidr })), ports };
    // The schema asks for egress blocks for a host outside the cluster; an empty list would allow every address.
    if (flow.peers.length === 0) throw new Error(`datasource "${d.uid}": egress must list the address blocks of ${a.host}`);
    this.egress.push(flow);
  }

  private register(ds: Datasource, into: Datasource[]): void {
    const all = [...this.datasources, ...this.declaredDatasources];
    if (all.some((d) => d.uid === ds.uid)) throw new Error(`datasource uid "${ds.uid}" is provisioned twice`);
    if (ds.basicAuthPassword && ds.password) throw new Error(`datasource "${ds.uid}" takes basicAuthPassword or password, not both`);
    const secrets: Array<[string, SecretRef]> = Object.entries(ds.secureJsonData ?? {}).map(([key, ref]) => [datasourceSecretEnv(ds.uid, key), ref]);
    const password = ds.basicAuthPassword ?? ds.password;
    if (password) secrets.push([datasourcePasswordEnv(ds.uid), password]);
    for (const [name, ref] of secrets) {
      if (this.secretEnv.some((e) => e.name === name)) throw new Error(`datasource "${ds.uid}": environment variable ${name} is already used by another datasource secret`);
      this.secretEnv.push({ name, valueFrom: { secretKeyRef: { name: ref.secretName, key: ref.key } } });
    }
    into.push(ds);
  }

  get provisionedDatasources(): readonly Datasource[] {
    return [...this.datasources, ...this.declaredDatasources];
  }

  /**
   * Provisions a dashboard from its own ConfigMap, labelled for the
   * dashboards sidecar and annotated with its folder.
   */
  addDashboard(dashboard: DashboardFile): void {
    if (!/^[a-z0-9][-a-z0-9]{0,39}$/.test(dashboard.uid)) {
      throw new Error(`dashboard uid must be kebab-case and at most 40 characters, got "${dashboard.uid}"`);
    }
    if (this.dashboards.some((d) => d.uid === dashboard.uid)) throw new Error(`dashboard uid "${dashboard.uid}" is added twice`);
    folderDirectory(dashboard.folder, dashboard.uid);
    const size = Buffer.byteLength(dashboard.json, 'utf8');
    if (size > CONFIGMAP_LIMIT_BYTES - 4096) {
      throw new Error(`dashboard "${dashboard.uid}" is ${size} bytes; a ConfigMap holds at most 1 MiB`);
    }
    this.dashboards.push(dashboard);
    const name = `grafana-dashboard-${dashboard.uid}`;
    new k8s.KubeConfigMap(this, `Dashboard-${dashboard.uid}`, {
      metadata: {
        name,
        labels: { ...this.labels, [DASHBOARD_LABEL]: 'true' },
        // Any folder name works (the stakeholders', a team's): its directory is named as written, and
        // Grafana (foldersFromFilesStructure) takes the directory's name as the folder's title.
        annotations: { [FOLDER_ANNOTATION]: folderDirectory(dashboard.folder) },
      },
      data: { [`${dashboard.uid}.json`]: dashboard.json },
    });
  }

  get provisionedDashboards(): readonly DashboardFile[] {
    return this.dashboards;
  }

  renderDatasources(): string {
    return yamlText(
      {
        apiVersion: 1,
        deleteDatasources: [],
        // A datasource dropped from this file is deleted at the next reload, as a restart on an empty database would.
        prune: true,
        datasources: this.provisionedDatasources.map((d) => ({
          uid: d.uid,
          name: d.name,
          type: d.type,
          access: 'proxy',
          url: d.url,
          isDefault: d.isDefault ?? false,
          editable: false,
          ...(d.jsonData ? { jsonData: d.jsonData } : {}),
          ...(d.basicAuthUser ? { basicAuth: true, basicAuthUser: d.basicAuthUser } : {}),
          ...(d.user ? { user: d.user } : {}),
          ...secureJsonData(d),
        })),
      });
  }

  private renderProviders(): string {
    return yamlText(
      {
        apiVersion: 1,
        providers: [
          {
            name: 'obstack',
            type: 'file',
            // A dashboard whose ConfigMap is removed (its file deleted by the sidecar) leaves Grafana too.
            disableDeletion: false,
            allowUiUpdates: false,
            // The sidecar writes changes into the folders as they happen; Grafana rereads them.
            updateIntervalSeconds: 30,
            options: { path: DASHBOARDS_DIR, foldersFromFilesStructure: true },
          },
        ],
      });
  }
}

/** secureJsonData of a datasource: every value a `$__env{…}` reference to a Secret key in Grafana's environment. */
function secureJsonData(d: Datasource): { secureJsonData?: Record<string, string> } {
  const out: Record<string, string> = {};
  for (const key of Object.keys(d.secureJsonData ?? {}).sort()) out[key] = `$__env{${datasourceSecretEnv(d.uid, key)}}`;
  if (d.basicAuthPassword) out.basicAuthPassword = `$__env{${datasourcePasswordEnv(d.uid)}}`;
  if (d.password) out.password = `$__env{${datasourcePasswordEnv(d.uid)}}`;
  return Object.keys(out).length > 0 ? { secureJsonData: out } : {};
}

/** The environment variable that carries a secureJsonData field (`httpHeaderValue1`: `GF_DS_<UID>_HTTP_HEADER_VALUE1`). */
export function datasourceSecretEnv(uid: string, key: string): string {
  const snake = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2');
  return `GF_DS_${uid.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_${snake.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** The environment variable that carries a datasource's password into Grafana. */
export function datasourcePasswordEnv(uid: string): string {
  return `GF_DS_${uid.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PASSWORD`;
}

export function folderSlug(folder: string): string {
  return folder.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/**
 * The directory of a dashboard folder: its name as written, since Grafana
 * titles the folder after the directory. Refuses what cannot be one directory.
 */
export function folderDirectory(folder: string, uid?: string): string {
  const ok = folder.length > 0 && folder.length <= 100 && folder === folder.trim() && folder !== '.' && folder !== '..' && !/[/\\:\p{Cc}]/u.test(folder);
  if (!ok) {
    throw new Error(
      `${uid ? `dashboard "${uid}": ` : ''}folder must be 1 to 100 characters without "/", "\\", ":", control characters or surrounding spaces, and not "." or "..", got ${JSON.stringify(folder)}`,
    );
  }
  return folder;
}
