declare module "js-hcl-parser" {
  /** HCL v1 (or JSON) in, indented JSON out; errors come back as a string starting "unable to". */
  const hcl: {
    parse(text: string): string;
    stringify(json: string): string;
  };
  export default hcl;
}
