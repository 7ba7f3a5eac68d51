import { StackComponent } from '../common/component.js';

/** A component that opens its own egress to the components it calls. */
export abstract class ConnectedComponent extends StackComponent {
  /** Lets this component's pods reach `peer`'s pods on `port`. */
  allowTo(peer: { readonly selector: Record<string, string> }, port: number): void {
    this.egress.push({ peers: [{ pods: peer.selector }], ports: [{ port }] });
  }
}
