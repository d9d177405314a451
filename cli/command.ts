/** What every `vfio-uapi` command module default-exports (cli/commands/<name>.ts). No imports: both packages compile it. */
export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}
