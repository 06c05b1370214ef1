/**
 * Makes `to` hold exactly `from`'s tags (as list_users showed them just before), vhost
 * permissions and topic permissions, so the two users of an alternating target are
 * interchangeable. Every command is idempotent: a copy interrupted at any point is finished by
 * running it again.
 */
import type { Rabbitmqctl, TopicPermissions, UserInfo, VhostPermissions } from "./rabbitmqctl.js";

const sameVhost = (a: VhostPermissions, b: VhostPermissions) =>
  a.configure === b.configure && a.write === b.write && a.read === b.read;
const topicKey = (t: TopicPermissions) => `${t.vhost}\u0000${t.exchange}`;

export async function copyGrants(ctl: Rabbitmqctl, from: UserInfo, to: UserInfo): Promise<void> {
  if ([...from.tags].sort().join(",") !== [...to.tags].sort().join(",")) {
    await ctl.run(["set_user_tags", to.user, ...from.tags]);
  }
  // Each rabbitmqctl run boots an Erlang VM (~0.5 s): the four listings go in parallel.
  const [wanted, heldList, wantedTopics, heldTopicList] = await Promise.all([
    ctl.permissions(from.user),
    ctl.permissions(to.user),
    ctl.topicPermissions(from.user),
    ctl.topicPermissions(to.user),
  ]);

  const held = new Map(heldList.map((p) => [p.vhost, p]));
  for (const p of wanted) {
    const mine = held.get(p.vhost);
    if (!mine || !sameVhost(mine, p)) {
      await ctl.run(["set_permissions", "-p", p.vhost, to.user, p.configure, p.write, p.read]);
    }
    held.delete(p.vhost);
  }
  for (const vhost of held.keys()) await ctl.run(["clear_permissions", "-p", vhost, to.user]);

  const heldTopics = new Map(heldTopicList.map((t) => [topicKey(t), t]));
  for (const t of wantedTopics) {
    const mine = heldTopics.get(topicKey(t));
    if (!mine || mine.write !== t.write || mine.read !== t.read) {
      await ctl.run(["set_topic_permissions", "-p", t.vhost, to.user, t.exchange, t.write, t.read]);
    }
    heldTopics.delete(topicKey(t));
  }
  for (const t of heldTopics.values()) {
    await ctl.run(["clear_topic_permissions", "-p", t.vhost, to.user, t.exchange]);
  }
}
