import { App, aws_athena as athena, aws_glue as glue, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { NamedQueries } from '../../lib/analytics/named-queries';
import { loadCatalog } from '../../queries/catalog';

const catalog = loadCatalog();

function stack() {
  const s = new Stack(new App(), 'Analytics', { env: { account: '123456789012', region: 'us-east-1' } });
  const workGroup = new athena.CfnWorkGroup(s, 'WorkGroup', { name: 'trailsight' });
  return { s, workGroup };
}

describe('NamedQueries', () => {
  test('deploys one AWS::Athena::NamedQuery per catalog entry, in the workgroup and database', () => {
    const { s, workGroup } = stack();
    new NamedQueries(s, 'Queries', { database: 'trailsight', workGroup, catalog });
    const template = Template.fromStack(s);
    template.resourceCountIs('AWS::Athena::NamedQuery', catalog.length);
    template.allResourcesProperties('AWS::Athena::NamedQuery', {
      Database: 'trailsight',
      WorkGroup: { Ref: Match.stringLikeRegexp('^WorkGroup') },
    });
  });

  test('saves the library text with its placeholders and a first line on how to fill them', () => {
    const { s, workGroup } = stack();
    new NamedQueries(s, 'Queries', { database: 'trailsight', workGroup, catalog });
    const root = catalog.find((q) => q.name === 'root-account-use');
    Template.fromStack(s).hasResourceProperties('AWS::Athena::NamedQuery', {
      Name: 'trailsight-root-account-use',
      Description: Match.stringLikeRegexp('^Root account use\\. .*Parameters: start=-7d, end=now\\.$'),
      QueryString: Match.stringLikeRegexp(`^-- Trailsight named query 'root-account-use'.*--athena`),
    });
    const queries = Template.fromStack(s).findResources('AWS::Athena::NamedQuery');
    const text = Object.values(queries).find((r) => r.Properties.Name === 'trailsight-root-account-use')?.Properties
      .QueryString;
    expect(text.endsWith(root?.sql)).toBe(true);
    expect(text).toContain("dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'");
  });

  test('names required parameters in the description', () => {
    const { s, workGroup } = stack();
    new NamedQueries(s, 'Queries', { database: 'trailsight', workGroup, catalog });
    Template.fromStack(s).hasResourceProperties('AWS::Athena::NamedQuery', {
      Name: 'trailsight-source-ip-activity',
      Description: Match.stringLikeRegexp('ip \\(required\\)'),
    });
  });

  test('takes the database from a Glue database construct and depends on the workgroup', () => {
    const { s, workGroup } = stack();
    const db = new glue.CfnDatabase(s, 'Db', { catalogId: '123456789012', databaseInput: { name: 'trailsight' } });
    const queries = new NamedQueries(s, 'Queries', { database: db, workGroup, catalog, namePrefix: 'audit/' });
    const template = Template.fromStack(s);
    template.allResourcesProperties('AWS::Athena::NamedQuery', { Database: { Ref: Match.stringLikeRegexp('^Db') } });
    template.hasResource('AWS::Athena::NamedQuery', {
      DependsOn: Match.arrayWith([Match.stringLikeRegexp('^WorkGroup')]),
      Properties: { Name: 'audit/cloudtrail-tampering' },
    });
    expect(Object.keys(queries.queries).sort()).toEqual(catalog.map((q) => q.name).sort());
  });

  test('keeps names and descriptions within the CloudFormation limits', () => {
    const { s, workGroup } = stack();
    new NamedQueries(s, 'Queries', { database: 'trailsight', workGroup, catalog });
    for (const r of Object.values(Template.fromStack(s).findResources('AWS::Athena::NamedQuery'))) {
      expect(r.Properties.Name.length).toBeLessThanOrEqual(128);
      expect(r.Properties.Description.length).toBeLessThanOrEqual(1024);
    }
  });

  test('fails when the catalog is empty', () => {
    const { s, workGroup } = stack();
    expect(() => new NamedQueries(s, 'Queries', { database: 'trailsight', workGroup, catalog: [] })).toThrow(
      /catalog is empty/,
    );
  });
});
