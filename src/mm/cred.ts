// SPDX-License-Identifier: GPL-2.0-only
/**
 * Changing a task's user IDs (kernel/sys.c: setuid, setreuid, setresuid) and
 * what the capability module does with the capabilities on the way
 * (security/commoncap.c: the setuid fixup and PR_SET_KEEPCAPS). iommufd cares
 * because the pages a call creates are charged to the caller's user_struct
 * (the real UID's) and are not charged at all while CAP_IPC_LOCK is
 * effective: a VMM that opens /dev/iommu as root and then drops to a plain
 * user pins against that user's RLIMIT_MEMLOCK from then on.
 *
 * The model has no user namespaces: every UID but (uid_t)-1 is valid, and
 * "root" is UID 0.
 */
import { EINVAL, EPERM } from '../base/errno.js';
import type { UserStruct } from './accounting.js';
import type { Task } from './task.js';

/** (uid_t)-1: "leave this one as it is" (and never a valid UID). */
export const UID_KEEP = 0xffffffff;

/** The IDs a call asks for; UID_KEEP leaves one unchanged. */
interface NewIds {
  uid: number;
  euid: number;
  suid: number;
}

function validUid(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v < UID_KEEP;
}

/**
 * Commit new IDs: the user_struct follows the real UID (set_user()), the
 * filesystem UID the effective one, and the capabilities are fixed up.
 */
function commit(task: Task, next: NewIds, userOf: (uid: number) => UserStruct): void {
  const old = { uid: task.uid, euid: task.euid, suid: task.suid };
  if (next.uid !== old.uid) {
    const u = userOf(next.uid);
    // The process counts move with the task (the kernel's ucounts follow the real UID).
    task.user.processes--;
    u.processes++;
    task.user = u;
  }
  task.uid = next.uid;
  task.euid = next.euid;
  task.suid = next.suid;
  fixupCaps(task, old);
}

/**
 * cap_emulate_setxuid(): leaving UID 0 in all three IDs drops permitted and
 * effective (unless keep-caps is set); the effective UID leaving 0 drops the
 * effective set, coming back to 0 raises it to the permitted one.
 */
function fixupCaps(task: Task, old: { uid: number; euid: number; suid: number }): void {
  const wasRoot = old.uid === 0 || old.euid === 0 || old.suid === 0;
  const isRoot = task.uid === 0 || task.euid === 0 || task.suid === 0;
  if (wasRoot && !isRoot && !task.keepCaps) {
    task.permitted.clear();
    task.caps.clear();
  }
  if (old.euid === 0 && task.euid !== 0) task.caps.clear();
  if (old.euid !== 0 && task.euid === 0) for (const c of task.permitted) task.caps.add(c);
}

/** setuid(2) (__sys_setuid()): 0 or -errno. */
export function setuid(task: Task, uid: number, userOf: (uid: number) => UserStruct): number {
  if (!validUid(uid)) return -EINVAL;
  if (task.capable('CAP_SETUID')) {
    commit(task, { uid, euid: uid, suid: uid }, userOf);
    return 0;
  }
  // Without CAP_SETUID only the effective UID moves, to the real or saved one.
  if (uid !== task.uid && uid !== task.suid) return -EPERM;
  commit(task, { uid: task.uid, euid: uid, suid: task.suid }, userOf);
  return 0;
}

/** setreuid(2) (__sys_setreuid()): 0 or -errno. */
export function setreuid(task: Task, ruid: number, euid: number, userOf: (uid: number) => UserStruct): number {
  if (ruid !== UID_KEEP && !validUid(ruid)) return -EINVAL;
  if (euid !== UID_KEEP && !validUid(euid)) return -EINVAL;
  const priv = task.capable('CAP_SETUID');
  if (ruid !== UID_KEEP && ruid !== task.uid && ruid !== task.euid && !priv) return -EPERM;
  if (euid !== UID_KEEP && euid !== task.uid && euid !== task.euid && euid !== task.suid && !priv) return -EPERM;
  const next = { uid: ruid === UID_KEEP ? task.uid : ruid, euid: euid === UID_KEEP ? task.euid : euid, suid: task.suid };
  // The saved UID follows the effective one when the real UID is set or the effective one leaves the real one.
  if (ruid !== UID_KEEP || (euid !== UID_KEEP && euid !== task.uid)) next.suid = next.euid;
  commit(task, next, userOf);
  return 0;
}

/** setresuid(2) (__sys_setresuid()): 0 or -errno. */
export function setresuid(task: Task, ruid: number, euid: number, suid: number, userOf: (uid: number) => UserStruct): number {
  for (const v of [ruid, euid, suid]) if (v !== UID_KEEP && !validUid(v)) return -EINVAL;
  const ids = [task.uid, task.euid, task.suid];
  // An ID none of the three current ones holds needs CAP_SETUID.
  const fresh = (v: number): boolean => v !== UID_KEEP && !ids.includes(v);
  if ((fresh(ruid) || fresh(euid) || fresh(suid)) && !task.capable('CAP_SETUID')) return -EPERM;
  commit(
    task,
    {
      uid: ruid === UID_KEEP ? task.uid : ruid,
      euid: euid === UID_KEEP ? task.euid : euid,
      suid: suid === UID_KEEP ? task.suid : suid,
    },
    userOf,
  );
  return 0;
}

/** prctl(PR_SET_KEEPCAPS, v) (cap_task_prctl()): 0 or -errno. */
export function setKeepCaps(task: Task, v: bigint): number {
  if (BigInt.asUintN(64, v) > 1n) return -EINVAL;
  task.keepCaps = v === 1n;
  return 0;
}

/**
 * What execve() of a file without file capabilities and without set-user-ID
 * bits makes of the credentials (cap_bprm_creds_from_file()): the saved UID
 * becomes the effective one and SECBIT_KEEP_CAPS is cleared. A root task
 * (real or effective UID 0, handle_privileged_root()) gets the bounding set
 * back as its permitted set, effective as well when its effective UID is 0;
 * any other task keeps only the ambient set, which the model keeps empty.
 * (The model has no file capabilities: a run started as another user with
 * capabilities loses them at its first exec.)
 */
export function execCreds(task: Task): void {
  task.suid = task.euid;
  task.keepCaps = false;
  const root = task.uid === 0 || task.euid === 0;
  task.permitted.clear();
  if (root) for (const c of task.capBset) task.permitted.add(c);
  task.caps.clear();
  if (task.euid === 0) for (const c of task.permitted) task.caps.add(c);
}
