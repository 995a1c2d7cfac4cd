import { mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A directory laid out as the kubelet lays out a mounted ConfigMap: the data in a timestamped
 * directory, `..data` a symlink to it, and each key a symlink through `..data`. `update` swaps
 * the data as the kubelet does (a new directory, a new `..data_tmp` symlink renamed over `..data`,
 * the old directory removed), so the key's path never changes.
 */
export class ConfigMapVolume {
  private generation = 0;

  constructor(
    readonly dir: string,
    readonly key: string,
    content: string,
  ) {
    this.writeGeneration(content);
    symlinkSync(this.currentName(), join(dir, '..data'));
    symlinkSync(join('..data', key), join(dir, key));
  }

  /** The path the container reads: `<mount>/<key>`. */
  get path(): string {
    return join(this.dir, this.key);
  }

  update(content: string): void {
    const old = readlinkSync(join(this.dir, '..data'));
    this.generation += 1;
    this.writeGeneration(content);
    symlinkSync(this.currentName(), join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    rmSync(join(this.dir, old), { recursive: true, force: true });
  }

  private currentName(): string {
    return `..2026_12_03_00_00_0${this.generation}.${process.pid}`;
  }

  private writeGeneration(content: string): void {
    const target = join(this.dir, this.currentName());
    mkdirSync(target);
    writeFileSync(join(target, this.key), content);
  }
}
